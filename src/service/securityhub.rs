//! The Security Hub adapter, administrator side: `GetMembers`, `ListMembers`, `CreateMembers`
//! and `InviteMembers`, with Security Hub's status names, result texts and suggested actions.
//!
//! Security Hub documents a rate of 10 requests per second (burst 30) for these operations, so
//! each operation's calls in a region go through a [`Pace`](crate::pace::Pace) that starts at
//! that rate (and still adapts if the service throttles) rather than being throttled.
//! Its `InviteMembers` takes no message and no email opt-out. The administration mode is not
//! asked: statuses are re-read after creating, which tells an organisation account the delegated
//! administrator associated (`Enabled`, "organization accounts don't receive invitations") from
//! one still to invite. A region where Security Hub is not enabled in this account answers
//! `InvalidAccessException`, and the pipeline reports the region once.

use std::collections::HashMap;

use aws_sdk_securityhub::Client;
use aws_sdk_securityhub::types::AccountDetails;

use super::{Administration, MAX_BATCH, Refused};
use crate::advice;
use crate::config::Region;
use crate::limits::{CallError, Deadline};
use crate::org::MemberAccount;
use crate::outcome::Step;
use crate::pace::Paces;
use crate::paging;

/// Security Hub's documented rate for each of the member operations: requests per second, and
/// burst.
pub const RATE: (u32, u32) = (10, 30);

/// The member operations, each paced on its own from [`RATE`].
pub const OPERATIONS: &[&str] = &[
    "GetMembers",
    "ListMembers",
    "CreateMembers",
    "InviteMembers",
];

/// Parts of Security Hub's results that only mean the account is already a member or invited.
const RACES: &[&str] = &["already a member", "already invited", "already associated"];

/// Security Hub in one region, for the administrator.
pub struct Admin<'a> {
    pub client: &'a Client,
    pub region: &'a Region,
    /// The region's paces for the member operations ([`OPERATIONS`]).
    pub paces: &'a Paces,
}

impl Admin<'_> {
    pub(super) fn administration(&self) -> Administration {
        Administration::Unknown
    }

    pub(super) async fn statuses(
        &self,
        deadline: Deadline,
        batch: &[&str],
    ) -> Result<HashMap<String, String>, CallError> {
        let ids: Vec<String> = batch.iter().map(|id| (*id).to_owned()).collect();
        let output = self
            .paces
            .send("GetMembers", deadline, || {
                self.client
                    .get_members()
                    .set_account_ids(Some(ids.clone()))
                    .send()
            })
            .await?;
        Ok(output
            .members()
            .iter()
            .filter_map(|m| Some((m.account_id()?.to_owned(), m.member_status()?.to_owned())))
            .collect())
    }

    pub(super) async fn list_members(
        &self,
        deadline: Deadline,
    ) -> Result<HashMap<String, String>, CallError> {
        let mut members = HashMap::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .paces
                .send("ListMembers", deadline, || {
                    self.client
                        .list_members()
                        // The default (true) lists only Enabled members.
                        .only_associated(false)
                        .max_results(MAX_BATCH as i32)
                        .set_next_token(token.clone())
                        .send()
                })
                .await?;
            members.extend(
                page.members().iter().filter_map(|m| {
                    Some((m.account_id()?.to_owned(), m.member_status()?.to_owned()))
                }),
            );
            match paging::next_token(token.as_deref(), page.next_token()) {
                Some(next) => token = Some(next),
                None => return Ok(members),
            }
        }
    }

    pub(super) async fn create(
        &self,
        deadline: Deadline,
        batch: &[&MemberAccount],
    ) -> Result<Refused, CallError> {
        let details: Vec<AccountDetails> = batch
            .iter()
            .map(|a| {
                AccountDetails::builder()
                    .account_id(a.id.as_str())
                    .email(a.email.as_str())
                    .build()
            })
            .collect();
        let output = self
            .paces
            .send("CreateMembers", deadline, || {
                self.client
                    .create_members()
                    .set_account_details(Some(details.clone()))
                    .send()
            })
            .await?;
        Ok(refused(output.unprocessed_accounts()))
    }

    pub(super) async fn invite(
        &self,
        deadline: Deadline,
        batch: &[&str],
    ) -> Result<Refused, CallError> {
        let output = self
            .paces
            .send("InviteMembers", deadline, || {
                self.client
                    .invite_members()
                    .set_account_ids(Some(batch.iter().map(|id| (*id).to_owned()).collect()))
                    .send()
            })
            .await?;
        Ok(refused(output.unprocessed_accounts()))
    }
}

fn refused(unprocessed: &[aws_sdk_securityhub::types::Result]) -> Refused {
    unprocessed
        .iter()
        .filter_map(|u| {
            Some((
                u.account_id()?.to_owned(),
                u.processing_result()
                    .unwrap_or("(Security Hub gave no processing result)")
                    .to_owned(),
            ))
        })
        .collect()
}

pub(super) fn is_race(step: Step, result: &str) -> bool {
    matches!(step, Step::Create | Step::Invite) && {
        let lower = result.to_ascii_lowercase();
        RACES.iter().any(|phrase| lower.contains(phrase))
    }
}

/// Security Hub's results, by a phrase they contain, and what to do about each.
const RESULT_ACTIONS: &[(&str, &str)] = &[
    (
        "not subscribed to AWS Security Hub",
        "Enable Security Hub in this region of the administrator account, or set ENABLE_SECURITY_HUB=false.",
    ),
    (
        "already a member",
        "The account is already a member; see its status in the Security Hub console (Settings > Accounts).",
    ),
    (
        "already invited",
        "An invitation is pending; nothing to do unless the member stays at Invited, then ask the account owner to accept it.",
    ),
];

pub(super) fn result_action(result: &str) -> Option<&'static str> {
    advice::by_phrase(RESULT_ACTIONS, result)
}

/// Member statuses that need someone to act, and what to do.
const STATUS_ACTIONS: &[(&str, &str)] = &[
    (
        "Invited",
        "Invitation pending: ask the account owner to accept it in the Security Hub console, or set MEMBER_ROLE_NAME to accept it for them.",
    ),
    (
        "Removed",
        "The member was disassociated and is not monitored: re-add it deliberately in the Security Hub console (Settings > Accounts).",
    ),
    (
        "Resigned",
        "The member left and is not monitored: ask the account owner why, then re-invite it deliberately in the Security Hub console.",
    ),
    (
        "Deleted",
        "The member was deleted: invoke the function again for this account to add it back.",
    ),
    (
        "AccountSuspended",
        "The account is suspended; nothing to do unless it is reinstated.",
    ),
];

pub(super) fn status_action(status: &str) -> Option<&'static str> {
    advice::by_status(STATUS_ACTIONS, status)
}

pub(super) const UNKNOWN_STATUS_ACTION: &str = "The member is not monitored in this status: look it up in the Security Hub console (Settings > Accounts) and act on it.";

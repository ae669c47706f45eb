//! The GuardDuty step in one region: find the detector, see who is already a member
//! (`GetMembers`), create the new members (`CreateMembers`), then invite every member still at
//! `Created` (`InviteMembers`). Each call carries at most 50 accounts.
//!
//! Checking first is what makes a redelivered event safe: an account past `Created` is never
//! invited again. Every `unprocessedAccounts` entry, and every account of a call that failed as a
//! whole after the SDK's retries, becomes a row with its step and the service's text verbatim.

use std::collections::HashMap;

use aws_sdk_guardduty::Client;
use aws_sdk_guardduty::types::{AccountDetail, UnprocessedAccount};
use tracing::{info, warn};

use crate::account::redact_emails;
use crate::aws_error;
use crate::config::Region;
use crate::limits::{DEADLINE_REACHED, Deadline};
use crate::lookup::MemberAccount;
use crate::outcome::{AccountOutcome, Outcome, RegionOutcome, Step};

/// The most accounts one member-API call takes.
pub const MAX_BATCH: usize = 50;

/// The relationship status of a member that exists but was never invited.
const CREATED: &str = "Created";

/// What goes with every invitation.
#[derive(Debug, Clone, Copy)]
pub struct Invitation<'a> {
    pub message: &'a str,
    pub disable_email_notification: bool,
}

/// Splits a list into API-sized batches.
pub fn batches<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    items.chunks(MAX_BATCH)
}

/// Onboards `accounts` in one region and returns every account's outcome, in the order given.
pub async fn onboard_region(
    client: &Client,
    region: &Region,
    configured_detector: Option<&str>,
    accounts: &[MemberAccount],
    invitation: Invitation<'_>,
    deadline: Deadline,
) -> RegionOutcome {
    if accounts.is_empty() {
        return RegionOutcome {
            region: region.to_string(),
            detector_id: configured_detector.map(str::to_owned),
            accounts: Vec::new(),
        };
    }
    let detector = match resolve_detector(client, region, configured_detector, deadline).await {
        Ok(id) => id,
        Err(reason) => {
            warn!(region = %region, error = %redact_emails(&reason), "no usable detector");
            return RegionOutcome {
                region: region.to_string(),
                detector_id: None,
                accounts: accounts
                    .iter()
                    .map(|a| {
                        AccountOutcome::unprocessed(a.id.as_str(), Step::Detector, reason.clone())
                    })
                    .collect(),
            };
        }
    };
    let mut run = RegionRun {
        client,
        region,
        detector: &detector,
        deadline,
        outcomes: HashMap::new(),
        strays: Vec::new(),
    };
    let statuses = run.check(accounts).await;

    let mut to_create = Vec::new();
    let mut to_invite = Vec::new();
    for account in accounts {
        let id = account.id.as_str();
        if run.outcomes.contains_key(id) {
            continue;
        }
        match statuses.get(id) {
            Some(status) if status.eq_ignore_ascii_case(CREATED) => to_invite.push(id.to_owned()),
            Some(status) => run.record(
                id,
                Outcome::AlreadyMember {
                    status: status.clone(),
                },
            ),
            None => to_create.push(account),
        }
    }
    to_invite.extend(run.create(&to_create).await);
    run.invite(&to_invite, invitation).await;

    let mut outcomes = run.outcomes;
    let mut rows: Vec<AccountOutcome> = accounts
        .iter()
        .map(|a| AccountOutcome {
            account_id: a.id.to_string(),
            account_name: a.name.clone(),
            outcome: outcomes
                .remove(a.id.as_str())
                .unwrap_or(Outcome::Unprocessed {
                    step: Step::Check,
                    result: NO_OUTCOME.to_owned(),
                }),
        })
        .collect();
    rows.extend(run.strays);
    RegionOutcome {
        region: region.to_string(),
        detector_id: Some(detector.clone()),
        accounts: rows,
    }
}

/// Shown if a path through the steps ever forgot an account: reported, not dropped.
const NO_OUTCOME: &str =
    "no step recorded an outcome for this account; please report this as a bug";

async fn resolve_detector(
    client: &Client,
    region: &Region,
    configured: Option<&str>,
    deadline: Deadline,
) -> Result<String, String> {
    if let Some(id) = configured {
        return Ok(id.to_owned());
    }
    if deadline.passed() {
        return Err(DEADLINE_REACHED.to_owned());
    }
    let output = client
        .list_detectors()
        .send()
        .await
        .map_err(|e| format!("ListDetectors failed: {}", aws_error::describe(&e)))?;
    output.detector_ids().first().cloned().ok_or_else(|| {
        format!("there is no GuardDuty detector in {region}: enable GuardDuty in {region} in this account, or remove {region} from REGIONS")
    })
}

/// The state of one region's run: the outcomes recorded so far.
struct RegionRun<'a> {
    client: &'a Client,
    region: &'a Region,
    detector: &'a str,
    deadline: Deadline,
    outcomes: HashMap<String, Outcome>,
    /// `unprocessedAccounts` entries for accounts the call did not carry: kept, not dropped.
    strays: Vec<AccountOutcome>,
}

impl RegionRun<'_> {
    fn record(&mut self, account_id: &str, outcome: Outcome) {
        match &outcome {
            Outcome::Invited => info!(account_id, region = %self.region, "invited"),
            Outcome::AlreadyMember { status } => {
                info!(account_id, region = %self.region, status = %status, "already a member")
            }
            Outcome::Unprocessed { step, result } => {
                warn!(account_id, region = %self.region, step = step.as_str(), result = %redact_emails(result), "unprocessed")
            }
        }
        self.outcomes.insert(account_id.to_owned(), outcome);
    }

    fn fail_batch<'i>(&mut self, ids: impl IntoIterator<Item = &'i str>, step: Step, reason: &str) {
        for id in ids {
            self.record(
                id,
                Outcome::Unprocessed {
                    step,
                    result: reason.to_owned(),
                },
            );
        }
    }

    /// The relationship status of each account that is already a member.
    async fn check(&mut self, accounts: &[MemberAccount]) -> HashMap<String, String> {
        let mut statuses = HashMap::new();
        for batch in batches(accounts) {
            if self.deadline.passed() {
                self.fail_batch(
                    batch.iter().map(|a| a.id.as_str()),
                    Step::Check,
                    DEADLINE_REACHED,
                );
                continue;
            }
            let ids: Vec<String> = batch.iter().map(|a| a.id.to_string()).collect();
            let result = self
                .client
                .get_members()
                .detector_id(self.detector)
                .set_account_ids(Some(ids))
                .send()
                .await;
            match result {
                Ok(output) => {
                    for member in output.members() {
                        if let (Some(id), Some(status)) =
                            (member.account_id(), member.relationship_status())
                        {
                            statuses.insert(id.to_owned(), status.to_owned());
                        }
                    }
                }
                // Without knowing who is a member, creating or inviting could invite twice.
                Err(e) => {
                    let reason = format!("GetMembers failed: {}", aws_error::describe(&e));
                    self.fail_batch(batch.iter().map(|a| a.id.as_str()), Step::Check, &reason);
                }
            }
        }
        statuses
    }

    /// Creates the members; returns the ids `CreateMembers` accepted.
    async fn create(&mut self, accounts: &[&MemberAccount]) -> Vec<String> {
        let mut accepted = Vec::new();
        for batch in batches(accounts) {
            if self.deadline.passed() {
                self.fail_batch(
                    batch.iter().map(|a| a.id.as_str()),
                    Step::Create,
                    DEADLINE_REACHED,
                );
                continue;
            }
            let details: Vec<AccountDetail> = batch
                .iter()
                .map(|a| {
                    AccountDetail::builder()
                        .account_id(a.id.as_str())
                        .email(a.email.as_str())
                        .build()
                })
                .collect();
            let result = self
                .client
                .create_members()
                .detector_id(self.detector)
                .set_account_details(Some(details))
                .send()
                .await;
            match result {
                Ok(output) => {
                    let ids = batch.iter().map(|a| a.id.as_str());
                    accepted.extend(self.settle(ids, output.unprocessed_accounts(), Step::Create));
                }
                Err(e) => {
                    let reason = format!("CreateMembers failed: {}", aws_error::describe(&e));
                    self.fail_batch(batch.iter().map(|a| a.id.as_str()), Step::Create, &reason);
                }
            }
        }
        accepted
    }

    async fn invite(&mut self, ids: &[String], invitation: Invitation<'_>) {
        for batch in batches(ids) {
            if self.deadline.passed() {
                self.fail_batch(
                    batch.iter().map(String::as_str),
                    Step::Invite,
                    DEADLINE_REACHED,
                );
                continue;
            }
            let result = self
                .client
                .invite_members()
                .detector_id(self.detector)
                .set_account_ids(Some(batch.to_vec()))
                .message(invitation.message)
                .disable_email_notification(invitation.disable_email_notification)
                .send()
                .await;
            match result {
                Ok(output) => {
                    let ids = batch.iter().map(String::as_str);
                    for id in self.settle(ids, output.unprocessed_accounts(), Step::Invite) {
                        self.record(&id, Outcome::Invited);
                    }
                }
                Err(e) => {
                    let reason = format!("InviteMembers failed: {}", aws_error::describe(&e));
                    self.fail_batch(batch.iter().map(String::as_str), Step::Invite, &reason);
                }
            }
        }
    }

    /// Records each `unprocessedAccounts` entry of a call; returns the ids it accepted.
    fn settle<'i>(
        &mut self,
        sent: impl Iterator<Item = &'i str>,
        unprocessed: &[UnprocessedAccount],
        step: Step,
    ) -> Vec<String> {
        let mut results: HashMap<&str, &str> = unprocessed
            .iter()
            .filter_map(|u| {
                Some((
                    u.account_id()?,
                    u.result().unwrap_or("(GuardDuty gave no result text)"),
                ))
            })
            .collect();
        let mut accepted = Vec::new();
        for id in sent {
            match results.remove(id) {
                Some(result) => self.record(
                    id,
                    Outcome::Unprocessed {
                        step,
                        result: result.to_owned(),
                    },
                ),
                None => accepted.push(id.to_owned()),
            }
        }
        for (id, result) in results {
            warn!(account_id = id, region = %self.region, step = step.as_str(), result = %redact_emails(result), "unprocessed entry for an account not in the call");
            self.strays
                .push(AccountOutcome::unprocessed(id, step, result));
        }
        accepted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_hold_at_most_fifty_and_lose_nothing() {
        for n in [0usize, 1, 49, 50, 51, 100, 101, 1_000] {
            let items: Vec<usize> = (0..n).collect();
            let sizes: Vec<usize> = batches(&items).map(<[usize]>::len).collect();
            assert!(
                sizes.iter().all(|&s| (1..=MAX_BATCH).contains(&s)),
                "{n}: {sizes:?}"
            );
            assert_eq!(sizes.iter().sum::<usize>(), n);
            assert_eq!(sizes.len(), n.div_ceil(MAX_BATCH));
            let rejoined: Vec<usize> = batches(&items).flatten().copied().collect();
            assert_eq!(rejoined, items);
        }
    }
}

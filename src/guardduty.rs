//! The GuardDuty step in one region: find the detector, learn whether this account is the
//! organisation's delegated administrator there, see who is already a member (`GetMembers`),
//! create the new members (`CreateMembers`), then invite every member still at `Created`
//! (`InviteMembers`). Each call carries at most 50 accounts.
//!
//! Checking first is what makes a redelivered event safe: an account past `Created` is never
//! invited again. A result that only means another run got there first ("already a member",
//! "already invited") is resolved by reading the member's status again, and reported as that
//! status. Every other `unprocessedAccounts` entry, and every account of a call that failed as a
//! whole, becomes a row with its step and the service's text verbatim.
//!
//! **Organisation-managed members.** As the organisation's delegated administrator,
//! `CreateMembers` associates an organisation account directly (it becomes `Enabled`), and
//! inviting it is wrong. Two ways to know which accounts those are were weighed by the calls
//! they cost for N new accounts in R regions: re-reading every status after creating costs
//! ceil(N/50) × R more `GetMembers` calls on every run (4 calls per batch instead of 3 for an
//! administrator by invitation); asking once per region and process with
//! `DescribeOrganizationConfiguration` (it answers only the delegated administrator) costs R
//! calls per cold start. So the mode is detected once per region and kept; only a delegated
//! administrator re-reads after creating, and that re-read replaces the invitation call for
//! organisation accounts, so both modes cost 3 calls per batch. When the mode cannot be learnt
//! (the call failed), the region re-reads, which is right in both modes.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_guardduty::Client;
use aws_sdk_guardduty::types::{AccountDetail, UnprocessedAccount};
use serde::Serialize;
use tracing::{info, warn};

use crate::account::redact_emails;
use crate::config::Region;
use crate::limits::{CallError, Deadline};
use crate::lookup::MemberAccount;
use crate::outcome::{AccountOutcome, Outcome, RegionOutcome, Step};

/// The most accounts one member-API call takes.
pub const MAX_BATCH: usize = 50;

/// The relationship status of a member that exists but was never invited.
const CREATED: &str = "Created";
/// The relationship status of a member whose findings reach the administrator.
const ENABLED: &str = "Enabled";
/// The relationship status of a member whose invitation is pending.
const INVITED: &str = "Invited";

/// The part of `CreateMembers`' result that means the account is already a member: after a
/// check that found it not to be, another run created it first.
const RACE_CREATE: &str = "already a member or associated member";
/// The part of `InviteMembers`' result that means the account is already invited or associated.
const RACE_INVITE: &str = "already invited or is already the GuardDuty master";

/// What goes with every invitation.
#[derive(Debug, Clone, Copy)]
pub struct Invitation<'a> {
    pub message: &'a str,
    pub disable_email_notification: bool,
}

/// How this account administers GuardDuty members in a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Administration {
    /// The organisation's delegated administrator: `CreateMembers` associates organisation
    /// accounts directly; accounts outside the organisation are still invited.
    DelegatedAdministrator,
    /// An administrator by invitation: every member is invited.
    Invitation,
    /// Not known (the question failed): statuses are re-read after creating.
    Unknown,
}

/// What was learnt of each region's [`Administration`], kept for the life of the process.
#[derive(Debug, Default)]
pub struct Administrations(Mutex<HashMap<String, Administration>>);

impl Administrations {
    fn get(&self, region: &Region) -> Option<Administration> {
        let known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        known.get(region.as_str()).copied()
    }

    fn learn(&self, region: &Region, mode: Administration) {
        if mode != Administration::Unknown {
            let mut known = self.0.lock().unwrap_or_else(|e| e.into_inner());
            known.insert(region.as_str().to_owned(), mode);
        }
    }
}

/// Splits a list into API-sized batches.
pub fn batches<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    items.chunks(MAX_BATCH)
}

/// What a member's relationship status means for the report.
pub fn settled(status: &str) -> Outcome {
    if status.eq_ignore_ascii_case(ENABLED) || status.eq_ignore_ascii_case(INVITED) {
        Outcome::AlreadyMember {
            status: status.to_owned(),
        }
    } else {
        Outcome::NeedsAction {
            status: status.to_owned(),
        }
    }
}

/// Everything one region needs.
pub struct RegionJob<'a> {
    pub client: &'a Client,
    pub region: &'a Region,
    pub configured_detector: Option<&'a str>,
    pub administrations: &'a Administrations,
    pub invitation: Invitation<'a>,
    pub deadline: Deadline,
}

/// Onboards `accounts` in one region and returns every account's outcome, in the order given.
pub async fn onboard_region(job: RegionJob<'_>, accounts: &[MemberAccount]) -> RegionOutcome {
    let region = job.region;
    if accounts.is_empty() {
        return RegionOutcome {
            region: region.to_string(),
            detector_id: job.configured_detector.map(str::to_owned),
            administration: job.administrations.get(region),
            accounts: Vec::new(),
        };
    }
    let detector = match resolve_detector(&job).await {
        Ok(id) => id,
        Err(reason) => {
            warn!(region = %region, error = %redact_emails(&reason), "no usable detector");
            return RegionOutcome {
                region: region.to_string(),
                detector_id: None,
                administration: None,
                accounts: accounts
                    .iter()
                    .map(|a| {
                        AccountOutcome::unprocessed(a.id.as_str(), Step::Detector, reason.clone())
                    })
                    .collect(),
            };
        }
    };
    let administration = match job.administrations.get(region) {
        Some(known) => known,
        None => {
            let learnt = administration(&job, &detector).await;
            job.administrations.learn(region, learnt);
            learnt
        }
    };
    let mut run = RegionRun {
        client: job.client,
        region,
        detector: &detector,
        deadline: job.deadline,
        outcomes: HashMap::new(),
        strays: Vec::new(),
    };
    let ids: Vec<&str> = accounts.iter().map(|a| a.id.as_str()).collect();
    let statuses = run.check(&ids).await;

    let mut to_create = Vec::new();
    let mut to_invite = Vec::new();
    for account in accounts {
        let id = account.id.as_str();
        if run.outcomes.contains_key(id) {
            continue;
        }
        match statuses.get(id) {
            Some(status) if status.eq_ignore_ascii_case(CREATED) => to_invite.push(id),
            Some(status) => run.record(id, settled(status)),
            None => to_create.push(account),
        }
    }
    let created = run.create(&to_create).await;
    to_invite.extend(created.raced);
    if administration == Administration::Invitation {
        to_invite.extend(created.accepted);
    } else {
        to_invite.extend(run.associated(&created.accepted).await);
    }
    run.invite(&to_invite, job.invitation).await;

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
        administration: Some(administration),
        accounts: rows,
    }
}

/// Shown if a path through the steps ever forgot an account: reported, not dropped.
const NO_OUTCOME: &str =
    "no step recorded an outcome for this account; please report this as a bug";

async fn resolve_detector(job: &RegionJob<'_>) -> Result<String, String> {
    if let Some(id) = job.configured_detector {
        return Ok(id.to_owned());
    }
    let region = job.region;
    let output = job
        .deadline
        .call(job.client.list_detectors().send())
        .await
        .map_err(|e| e.reason("ListDetectors"))?;
    output.detector_ids().first().cloned().ok_or_else(|| {
        format!("there is no GuardDuty detector in {region}: enable GuardDuty in {region} in this account, or remove {region} from REGIONS")
    })
}

/// Asks GuardDuty whether this account is the organisation's delegated administrator here:
/// `DescribeOrganizationConfiguration` answers only the delegated administrator, and refuses
/// any other account with `BadRequestException`.
async fn administration(job: &RegionJob<'_>, detector: &str) -> Administration {
    let asked = job
        .deadline
        .call(
            job.client
                .describe_organization_configuration()
                .detector_id(detector)
                .send(),
        )
        .await;
    let mode = match &asked {
        Ok(_) => Administration::DelegatedAdministrator,
        Err(CallError::Failed(reason)) if reason.starts_with("BadRequestException") => {
            Administration::Invitation
        }
        Err(_) => Administration::Unknown,
    };
    match asked {
        Err(e) if mode == Administration::Unknown => {
            warn!(region = %job.region, error = %redact_emails(&e.reason("DescribeOrganizationConfiguration")), "could not learn whether this account is the delegated administrator; member statuses are re-read after creating")
        }
        _ => info!(region = %job.region, administration = ?mode, "administration learnt"),
    }
    mode
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

/// What `CreateMembers` did with the accounts it was given.
struct Created<'i> {
    /// Created now.
    accepted: Vec<&'i str>,
    /// Created by another run between the check and the call, and still at `Created`.
    raced: Vec<&'i str>,
}

impl<'r> RegionRun<'r> {
    fn record(&mut self, account_id: &str, outcome: Outcome) {
        let region = self.region;
        match &outcome {
            Outcome::Invited => info!(account_id, region = %region, "invited"),
            Outcome::EnabledByOrganization => {
                info!(account_id, region = %region, "enabled through the organisation")
            }
            Outcome::AlreadyMember { status } => {
                info!(account_id, region = %region, status = %status, "already a member")
            }
            Outcome::NeedsAction { status } => {
                warn!(account_id, region = %region, status = %status, "a member that is not monitored")
            }
            Outcome::Unprocessed { step, result } => {
                warn!(account_id, region = %region, step = step.as_str(), result = %redact_emails(result), "unprocessed")
            }
        }
        self.outcomes.insert(account_id.to_owned(), outcome);
    }

    fn fail_all(&mut self, ids: &[&str], step: Step, reason: &str) {
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

    /// The relationship status of each account of one batch that is a member.
    async fn statuses(&self, batch: &[&str]) -> Result<HashMap<String, String>, CallError> {
        let ids: Vec<String> = batch.iter().map(|id| (*id).to_owned()).collect();
        let output = self
            .deadline
            .call(
                self.client
                    .get_members()
                    .detector_id(self.detector)
                    .set_account_ids(Some(ids))
                    .send(),
            )
            .await?;
        Ok(output
            .members()
            .iter()
            .filter_map(|m| {
                Some((
                    m.account_id()?.to_owned(),
                    m.relationship_status()?.to_owned(),
                ))
            })
            .collect())
    }

    /// The relationship status of each account that is already a member. Without knowing who
    /// is a member, creating or inviting could invite twice: a batch whose check failed stops.
    async fn check(&mut self, ids: &[&str]) -> HashMap<String, String> {
        let mut statuses = HashMap::new();
        for batch in batches(ids) {
            match self.statuses(batch).await {
                Ok(found) => statuses.extend(found),
                Err(e) => self.fail_all(batch, Step::Check, &e.reason("GetMembers")),
            }
        }
        statuses
    }

    /// Creates the members.
    async fn create<'i>(&mut self, accounts: &[&'i MemberAccount]) -> Created<'i> {
        let mut created = Created {
            accepted: Vec::new(),
            raced: Vec::new(),
        };
        for batch in batches(accounts) {
            let ids: Vec<&'i str> = batch.iter().map(|a| a.id.as_str()).collect();
            let details: Vec<AccountDetail> = batch
                .iter()
                .map(|a| {
                    AccountDetail::builder()
                        .account_id(a.id.as_str())
                        .email(a.email.as_str())
                        .build()
                })
                .collect();
            let call = self
                .client
                .create_members()
                .detector_id(self.detector)
                .set_account_details(Some(details))
                .send();
            match self.deadline.call(call).await {
                Ok(output) => {
                    let settled = self.settle(&ids, output.unprocessed_accounts(), Step::Create);
                    created.accepted.extend(settled.accepted);
                    let still_created = self.resolve_races(settled.raced, Step::Create).await;
                    created
                        .raced
                        .extend(still_created.into_iter().map(|(id, _)| id));
                }
                Err(e) => self.fail_all(&ids, Step::Create, &e.reason("CreateMembers")),
            }
        }
        created
    }

    /// Members just created by a delegated administrator (or when that is not known): those
    /// the organisation associated are recorded; returns those still to invite.
    async fn associated<'i>(&mut self, ids: &[&'i str]) -> Vec<&'i str> {
        let mut to_invite = Vec::new();
        for (id, read) in self.reread(ids).await {
            match read {
                Ok(Some(s)) if s.eq_ignore_ascii_case(ENABLED) => {
                    self.record(id, Outcome::EnabledByOrganization)
                }
                Ok(Some(s)) if !s.eq_ignore_ascii_case(CREATED) => self.record(id, settled(&s)),
                // Created, or not seen yet: InviteMembers says which.
                Ok(_) => to_invite.push(id),
                // Inviting is still safe: an associated member is refused, then re-read.
                Err(e) => {
                    warn!(account_id = id, region = %self.region, error = %redact_emails(&e.reason("GetMembers")), "could not re-read a new member; inviting it");
                    to_invite.push(id);
                }
            }
        }
        to_invite
    }

    async fn invite(&mut self, ids: &[&str], invitation: Invitation<'_>) {
        for batch in batches(ids) {
            let call = self
                .client
                .invite_members()
                .detector_id(self.detector)
                .set_account_ids(Some(batch.iter().map(|id| (*id).to_owned()).collect()))
                .message(invitation.message)
                .disable_email_notification(invitation.disable_email_notification)
                .send();
            match self.deadline.call(call).await {
                Ok(output) => {
                    let settled = self.settle(batch, output.unprocessed_accounts(), Step::Invite);
                    for id in settled.accepted {
                        self.record(id, Outcome::Invited);
                    }
                    // Refused as already invited, yet still at Created: not a race, and the
                    // service's result stands, verbatim.
                    for (id, result) in self.resolve_races(settled.raced, Step::Invite).await {
                        self.record(
                            id,
                            Outcome::Unprocessed {
                                step: Step::Invite,
                                result,
                            },
                        );
                    }
                }
                Err(e) => self.fail_all(batch, Step::Invite, &e.reason("InviteMembers")),
            }
        }
    }

    /// Reads the status of each account again, in batches: `Ok(None)` for an account that is
    /// not a member.
    async fn reread<'i>(
        &self,
        ids: &[&'i str],
    ) -> Vec<(&'i str, Result<Option<String>, CallError>)> {
        let mut reads = Vec::with_capacity(ids.len());
        for batch in batches(ids) {
            let statuses = self.statuses(batch).await;
            for id in batch {
                let read = match &statuses {
                    Ok(found) => Ok(found.get(*id).cloned()),
                    Err(e) => Err(e.clone()),
                };
                reads.push((*id, read));
            }
        }
        reads
    }

    /// Reads again the status of accounts a call refused as already a member or already
    /// invited, and records it. Returns the accounts found at `Created`, with the call's result,
    /// for the caller to decide. An account whose status cannot be read keeps the call's result.
    async fn resolve_races<'i>(
        &mut self,
        raced: Vec<(&'i str, String)>,
        step: Step,
    ) -> Vec<(&'i str, String)> {
        let ids: Vec<&'i str> = raced.iter().map(|(id, _)| *id).collect();
        let reads = self.reread(&ids).await;
        let mut created = Vec::new();
        for ((id, result), (_, read)) in raced.into_iter().zip(reads) {
            match read {
                Ok(Some(s)) if s.eq_ignore_ascii_case(CREATED) => created.push((id, result)),
                Ok(Some(s)) => {
                    info!(account_id = id, region = %self.region, status = %s, "another run got there first");
                    self.record(id, settled(&s));
                }
                _ => self.record(id, Outcome::Unprocessed { step, result }),
            }
        }
        created
    }

    /// Records each `unprocessedAccounts` entry of a call, except those that only mean another
    /// run got there first.
    fn settle<'i>(
        &mut self,
        sent: &[&'i str],
        unprocessed: &[UnprocessedAccount],
        step: Step,
    ) -> Settled<'i> {
        let mut results: HashMap<&str, &str> = unprocessed
            .iter()
            .filter_map(|u| {
                Some((
                    u.account_id()?,
                    u.result().unwrap_or("(GuardDuty gave no result text)"),
                ))
            })
            .collect();
        let race = match step {
            Step::Create => RACE_CREATE,
            _ => RACE_INVITE,
        };
        let mut settled = Settled {
            accepted: Vec::new(),
            raced: Vec::new(),
        };
        for id in sent {
            match results.remove(id) {
                Some(result) if result.contains(race) => {
                    settled.raced.push((*id, result.to_owned()))
                }
                Some(result) => self.record(
                    id,
                    Outcome::Unprocessed {
                        step,
                        result: result.to_owned(),
                    },
                ),
                None => settled.accepted.push(*id),
            }
        }
        for (id, result) in results {
            warn!(account_id = id, region = %self.region, step = step.as_str(), result = %redact_emails(result), "unprocessed entry for an account not in the call");
            self.strays
                .push(AccountOutcome::unprocessed(id, step, result));
        }
        settled
    }
}

/// One call's accounts, sorted by what its `unprocessedAccounts` said.
struct Settled<'i> {
    accepted: Vec<&'i str>,
    /// Refused with a result that only means another run got there first, and that result.
    raced: Vec<(&'i str, String)>,
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

    #[test]
    fn only_invited_and_enabled_members_need_no_one() {
        for status in ["Enabled", "Invited", "enabled"] {
            assert!(!settled(status).needs_attention(), "{status}");
        }
        for status in [
            "EmailVerificationFailed",
            "EmailVerificationInProgress",
            "Resigned",
            "Removed",
            "Disabled",
            "SomethingNew",
        ] {
            assert_eq!(
                settled(status),
                Outcome::NeedsAction {
                    status: status.into()
                }
            );
        }
    }
}

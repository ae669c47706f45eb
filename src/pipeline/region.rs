//! The onboarding of one service in one region, written once for every [`MemberService`]: prepare
//! the region (and for a sweep, read every member with `ListMembers`), then each batch of at most
//! 50 accounts on its own: learn who is already a member (`GetMembers`), create the new members,
//! invite every member still at `Created`. Batches do not wait for each other; a bounded number run
//! at once. Each call goes through the deadline, and every account's result is kept.
//!
//! Checking first is what makes a redelivered event safe: an account past `Created` is never
//! invited again. A result that only means another run got there first ("already a member",
//! "already invited") is resolved by reading the member's status again, and reported as that
//! status. Every other per-account result, and every account of a call that failed as a whole,
//! becomes a row with its step and the service's text verbatim. A region whose first call is
//! refused outright (not enabled, denied by a policy, the service off) is reported once.
//!
//! A dry run stops after the reads and says, per account, what would be done and why. For a
//! sweep, the region's members the organisation no longer backs follow ([`super::departed`]).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use futures::stream::{self, StreamExt};
use tracing::{debug, info, warn};

use super::departed::{departed_rows, unbacked};
use super::{Settings, skip, unstarted};
use crate::aws_error::CallError;
use crate::config::Region;
use crate::limits::Deadline;
use crate::org::MemberAccount;
use crate::outcome::{
    AccountOutcome, Administration, MemberStatus, Outcome, Plan, Reason, Reasons, RegionOutcome,
    Step,
};
use crate::service::{MAX_BATCH, MemberService, Refusal, Statuses, Unusable, batches, status_of};
use crate::text::redact_emails;

/// Onboards `accounts` with one service in one region; every account's outcome, in the order
/// given.
/// `accept`: invitations are accepted in the member accounts afterwards (for a dry run's words).
pub async fn onboard(
    service: &mut MemberService<'_>,
    settings: Settings<'_>,
    accept: bool,
    accounts: &[MemberAccount],
) -> RegionOutcome {
    let Settings {
        deadline,
        sweep,
        dry_run,
        concurrency,
        backing,
    } = settings;
    let region = service.region().clone();
    let region = &region;
    let mut outcome = unstarted(service);
    if accounts.is_empty() {
        return outcome;
    }
    let unusable =
        |outcome: &mut RegionOutcome, problem: Unusable| skip(outcome, problem, accounts.len());
    let prepared = service.prepare(deadline).await;
    outcome.detector_id = service.detector_id().map(str::to_owned);
    let administration = match prepared {
        Ok(mode) => mode,
        Err(problem) => {
            unusable(&mut outcome, problem);
            return outcome;
        }
    };
    outcome.administration = Some(administration);
    if administration == Administration::DelegatedAdministrator {
        outcome.auto_enable = service.auto_enable(deadline).await;
    }

    let listed = if sweep {
        match service.list_members(deadline).await {
            Ok(members) => Some(members),
            Err(e) => {
                unusable(
                    &mut outcome,
                    Unusable {
                        step: Step::List,
                        reason: Reason::call("ListMembers", e),
                    },
                );
                return outcome;
            }
        }
    } else {
        None
    };
    let batches = Batches {
        service,
        region,
        deadline,
        administration,
        listed: listed.as_ref(),
        dry_run,
        accept,
        refused: OnceLock::new(),
        reasons: Reasons::default(),
    };
    // Each batch goes check → create → invite on its own; up to `concurrency` at once. Boxed:
    // the batch's future is deep, and the boxes keep the region's within the layout limit.
    // Each batch's outcomes become rows as it finishes (in order), so that a large run holds
    // its rows and the batches in flight, never a second copy of every outcome.
    let batches = &batches;
    let mut done = stream::iter(accounts.chunks(MAX_BATCH))
        .map(|batch| async move { (batch, Box::pin(batches.run(batch)).await) })
        .buffered(concurrency.max(1));
    let mut rows = Vec::with_capacity(accounts.len());
    let mut strays = Vec::new();
    let mut first_refusal = None;
    let mut any_done = false;
    while let Some((batch, result)) = done.next().await {
        let row = |a: &MemberAccount, outcome: Outcome| AccountOutcome {
            account_id: a.id.shared(),
            account_name: a.name.clone(),
            outcome,
        };
        match result {
            Ok(mut finished) => {
                any_done = true;
                rows.extend(batch.iter().map(|a| {
                    let outcome = finished
                        .outcomes
                        .remove(a.id.as_str())
                        // Shown if a path through the steps ever forgot an account: reported,
                        // not dropped.
                        .unwrap_or(Outcome::Unprocessed {
                            step: Step::Check,
                            result: Arc::new(Reason::Lost),
                        });
                    row(a, outcome)
                }));
                strays.extend(finished.strays);
            }
            // Refused in a region where other batches went through: rows, as any failure.
            Err(problem) => {
                let reason = batches.reasons.share(problem.reason.clone());
                rows.extend(batch.iter().map(|a| {
                    row(
                        a,
                        Outcome::Unprocessed {
                            step: problem.step,
                            result: reason.clone(),
                        },
                    )
                }));
                first_refusal.get_or_insert(problem);
            }
        }
    }
    drop(done);
    if let (false, Some(first)) = (any_done, first_refusal) {
        // Every batch was refused at its first call: the region, not the accounts.
        unusable(&mut outcome, first);
        return outcome;
    }
    outcome.accounts = rows;
    outcome.accounts.extend(strays);
    if let (Some(backing), Some(listed)) = (backing, &listed) {
        let departed = unbacked(listed, backing);
        let rows = departed_rows(
            service,
            region,
            deadline,
            dry_run,
            backing.remove,
            &batches.reasons,
            departed,
        )
        .await;
        outcome.accounts.extend(rows);
    }
    outcome
}

/// What every batch of a service-region shares.
struct Batches<'a, 's> {
    service: &'a MemberService<'s>,
    region: &'a Region,
    deadline: Deadline,
    administration: Administration,
    /// A sweep's statuses of every member, read once for the region.
    listed: Option<&'a Statuses>,
    dry_run: bool,
    accept: bool,
    /// Set by the first batch refused outright: the batches after it make no call.
    refused: OnceLock<Unusable>,
    /// The region's reasons, each stored once for all its rows.
    reasons: Reasons,
}

/// One batch's outcomes.
struct Done {
    outcomes: HashMap<String, Outcome>,
    strays: Vec<AccountOutcome>,
}

impl Batches<'_, '_> {
    /// One batch of at most 50 accounts, from its check to its invitations. `Err` when its
    /// first call was refused outright.
    async fn run(&self, accounts: &[MemberAccount]) -> Result<Done, Unusable> {
        let (dry_run, accept) = (self.dry_run, self.accept);
        let mut run = Run {
            service: self.service,
            region: self.region,
            deadline: self.deadline,
            reasons: &self.reasons,
            outcomes: HashMap::new(),
            strays: Vec::new(),
        };
        let checked;
        let statuses = match self.listed {
            Some(listed) => listed,
            None => {
                if let Some(problem) = self.refused.get() {
                    return Err(problem.clone());
                }
                let ids: Vec<&str> = accounts.iter().map(|a| a.id.as_str()).collect();
                checked = run.check(&ids).await.inspect_err(|problem| {
                    let _ = self.refused.set(problem.clone());
                })?;
                &checked
            }
        };

        let mut to_create = Vec::new();
        let mut to_invite = Vec::new();
        for account in accounts {
            let id = account.id.as_str();
            if run.outcomes.contains_key(id) {
                continue;
            }
            match status_of(statuses, id) {
                Some(MemberStatus::Created) => to_invite.push(id),
                Some(MemberStatus::Invited) if dry_run && accept => run.record(
                    id,
                    Outcome::WouldDo {
                        plan: Plan::Accept,
                        status: Some(MemberStatus::Invited),
                        accept,
                    },
                ),
                Some(status) => run.record(id, Outcome::of_member(status.clone())),
                None => to_create.push(account),
            }
        }
        if dry_run {
            for account in to_create {
                run.record(
                    account.id.as_str(),
                    Outcome::WouldDo {
                        plan: Plan::Create,
                        status: None,
                        accept,
                    },
                );
            }
            for id in to_invite {
                run.record(
                    id,
                    Outcome::WouldDo {
                        plan: Plan::Invite,
                        status: Some(MemberStatus::Created),
                        accept,
                    },
                );
            }
        } else {
            let created = run.create(&to_create).await;
            to_invite.extend(created.raced);
            if self.administration == Administration::Invitation {
                to_invite.extend(created.accepted);
            } else {
                let (associated, still_created) = run.associated(&created.accepted).await;
                to_invite.extend(still_created);
                // Members the organisation associated show this account is the delegated
                // administrator; none among several new ones does not prove it is not.
                if self.administration == Administration::Unknown && associated > 0 {
                    self.service.learn(Administration::DelegatedAdministrator);
                }
            }
            run.invite(&to_invite).await;
        }
        Ok(Done {
            outcomes: run.outcomes,
            strays: run.strays,
        })
    }
}

/// The state of one service-region's run: the outcomes recorded so far.
struct Run<'a, 's> {
    service: &'a MemberService<'s>,
    region: &'a Region,
    deadline: Deadline,
    reasons: &'a Reasons,
    outcomes: HashMap<String, Outcome>,
    /// Per-account results for accounts the call did not carry: kept, not dropped.
    strays: Vec<AccountOutcome>,
}

/// What `CreateMembers` did with the accounts it was given.
struct Created<'i> {
    /// Created now.
    accepted: Vec<&'i str>,
    /// Created by another run between the check and the call, and still at `Created`.
    raced: Vec<&'i str>,
}

/// One call's accounts, sorted by what its per-account results said.
struct Settled<'i> {
    accepted: Vec<&'i str>,
    /// Refused with a result that only means another run got there first, and that result.
    raced: Vec<(&'i str, String)>,
}

impl Run<'_, '_> {
    fn record(&mut self, account_id: &str, outcome: Outcome) {
        let region = self.region;
        let service = self.service.service().name();
        match &outcome {
            Outcome::Unprocessed { step, result } => {
                warn!(account_id, service, region = %region, step = step.as_str(), result = %redact_emails(&result.to_string()), "unprocessed")
            }
            Outcome::NeedsAction { status } => {
                warn!(account_id, service, region = %region, status = %status, "a member that is not monitored")
            }
            // Successes are in the report; at a sweep's scale an info line each would flood
            // the log.
            other => {
                debug!(account_id, service, region = %region, outcome = ?other, "account done")
            }
        }
        self.outcomes.insert(account_id.to_owned(), outcome);
    }

    fn fail_all(&mut self, ids: &[&str], step: Step, reason: &Reason) {
        let reason = self.reasons.share(reason.clone());
        for id in ids {
            self.record(
                id,
                Outcome::Unprocessed {
                    step,
                    result: reason.clone(),
                },
            );
        }
    }

    /// The status of each account that is already a member. Without knowing who is a member,
    /// creating or inviting could invite twice: a batch whose check failed stops. A region whose
    /// first call is refused outright is unusable.
    async fn check(&mut self, ids: &[&str]) -> Result<Statuses, Unusable> {
        let mut statuses = Statuses::new();
        let mut answered = false;
        for batch in batches(ids) {
            match self.service.statuses(self.deadline, batch).await {
                Ok(found) => {
                    answered = true;
                    statuses.extend(found);
                }
                Err(e) if !answered && e.refuses_region() => {
                    return Err(Unusable {
                        step: Step::Check,
                        reason: Reason::call("GetMembers", e),
                    });
                }
                Err(e) => self.fail_all(batch, Step::Check, &Reason::call("GetMembers", e)),
            }
        }
        Ok(statuses)
    }

    async fn create<'i>(&mut self, accounts: &[&'i MemberAccount]) -> Created<'i> {
        let mut created = Created {
            accepted: Vec::new(),
            raced: Vec::new(),
        };
        for batch in batches(accounts) {
            let ids: Vec<&'i str> = batch.iter().map(|a| a.id.as_str()).collect();
            match self.service.create(self.deadline, batch).await {
                Ok(refused) => {
                    let quota = refused.iter().any(|r| !r.race) && self.quota_reached().await;
                    let settled = self.settle(&ids, refused, Step::Create);
                    if quota {
                        self.mark_quota(&ids);
                    }
                    created.accepted.extend(settled.accepted);
                    let still_created = self.resolve_races(settled.raced, Step::Create).await;
                    created
                        .raced
                        .extend(still_created.into_iter().map(|(id, _)| id));
                }
                Err(e) => {
                    let answered = matches!(e, CallError::Failed(_));
                    self.fail_all(&ids, Step::Create, &Reason::call("CreateMembers", e));
                    if answered && self.quota_reached().await {
                        self.mark_quota(&ids);
                    }
                }
            }
        }
        created
    }

    /// Whether the service says this administrator's member quota in the region is reached:
    /// asked of the service when it refuses to create members, never counted here.
    async fn quota_reached(&self) -> bool {
        self.service.limit_reached(self.deadline).await == Some(true)
    }

    /// The accounts of `ids` that `CreateMembers` refused, marked as refused for the quota.
    fn mark_quota(&mut self, ids: &[&str]) {
        for id in ids {
            if let Some(Outcome::Unprocessed {
                step: Step::Create,
                result,
            }) = self.outcomes.get_mut(*id)
            {
                let mut wrapped = Reason::clone(result);
                wrapped.wrap(Reason::MemberQuota, |r| matches!(r, Reason::MemberQuota(_)));
                *result = self.reasons.share(wrapped);
            }
        }
    }

    /// Members just created where the organisation may have associated them: those it did are
    /// recorded. Returns how many it associated, and those still to invite.
    async fn associated<'i>(&mut self, ids: &[&'i str]) -> (usize, Vec<&'i str>) {
        let mut to_invite = Vec::new();
        let mut associated = 0;
        for (id, read) in self.reread(ids).await {
            match read {
                Ok(Some(MemberStatus::Enabled)) => {
                    associated += 1;
                    self.record(id, Outcome::EnabledByOrganization);
                }
                // Created, or not seen yet: InviteMembers says which.
                Ok(Some(MemberStatus::Created) | None) => to_invite.push(id),
                Ok(Some(status)) => self.record(id, Outcome::of_member(status)),
                // Inviting is still safe: an associated member is refused, then re-read.
                Err(e) => {
                    warn!(account_id = id, region = %self.region, error = %redact_emails(&e.to_string()), "could not re-read a new member; inviting it");
                    to_invite.push(id);
                }
            }
        }
        (associated, to_invite)
    }

    async fn invite(&mut self, ids: &[&str]) {
        for batch in batches(ids) {
            match self.service.invite(self.deadline, batch).await {
                Ok(refused) => {
                    let settled = self.settle(batch, refused, Step::Invite);
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
                                result: self.reasons.share(Reason::Result(result)),
                            },
                        );
                    }
                }
                Err(e) => self.fail_all(batch, Step::Invite, &Reason::call("InviteMembers", e)),
            }
        }
    }

    /// Reads the status of each account again, in batches: `Ok(None)` for an account that is
    /// not a member.
    async fn reread<'i>(
        &self,
        ids: &[&'i str],
    ) -> Vec<(&'i str, Result<Option<MemberStatus>, CallError>)> {
        let mut reads = Vec::with_capacity(ids.len());
        for batch in batches(ids) {
            let statuses = self.service.statuses(self.deadline, batch).await;
            for id in batch {
                let read = match &statuses {
                    Ok(found) => Ok(status_of(found, id).cloned()),
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
                Ok(Some(MemberStatus::Created)) => created.push((id, result)),
                Ok(Some(status)) => {
                    info!(account_id = id, region = %self.region, status = %status, "another run got there first");
                    self.record(id, Outcome::of_member(status));
                }
                _ => self.record(
                    id,
                    Outcome::Unprocessed {
                        step,
                        result: self.reasons.share(Reason::Result(result)),
                    },
                ),
            }
        }
        created
    }

    /// Records each per-account result of a call, except those that only mean another run got
    /// there first.
    fn settle<'i>(&mut self, sent: &[&'i str], refused: Vec<Refusal>, step: Step) -> Settled<'i> {
        let mut results: HashMap<String, Refusal> = refused
            .into_iter()
            .map(|r| (r.account_id.clone(), r))
            .collect();
        let mut settled = Settled {
            accepted: Vec::new(),
            raced: Vec::new(),
        };
        for id in sent {
            match results.remove(*id) {
                Some(refusal) if refusal.race => settled.raced.push((*id, refusal.result)),
                Some(refusal) => self.record(
                    id,
                    Outcome::Unprocessed {
                        step,
                        result: self.reasons.share(Reason::Result(refusal.result)),
                    },
                ),
                None => settled.accepted.push(*id),
            }
        }
        for (id, refusal) in results {
            warn!(account_id = %id, region = %self.region, step = step.as_str(), result = %redact_emails(&refusal.result), "unprocessed entry for an account not in the call");
            self.strays.push(AccountOutcome::unprocessed(
                id,
                step,
                Reason::Result(refusal.result),
            ));
        }
        settled
    }
}

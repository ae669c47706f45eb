//! The member services: GuardDuty and Security Hub seen through one small interface, so the
//! onboarding flow in [`crate::pipeline`] is written once.
//!
//! **An enum, not a trait.** The set is closed (two AWS services), so [`MemberService`] has one
//! variant per service, each wrapping that service's client and settings, and every method
//! matches on the variant: static dispatch, no boxed futures, no extra crate, and an exhaustive
//! `match` makes both adapters change together. An adapter owns its service: its calls, its
//! status names, its result texts and the actions suggested for them. The pipeline owns the flow
//! and the report renders what the pipeline returns, asking [`Service`] for the words.

pub mod guardduty;
pub mod securityhub;

use std::collections::HashMap;

use serde::Serialize;

use crate::advice;
use crate::limits::{CallError, Deadline};
use crate::org::MemberAccount;
use crate::outcome::{Outcome, Step};

/// The most accounts one member-API call takes.
pub const MAX_BATCH: usize = 50;

/// A member's relationship status: never invited.
pub const CREATED: &str = "Created";
/// Monitored: the member's findings reach the administrator.
pub const ENABLED: &str = "Enabled";
/// The invitation is pending.
pub const INVITED: &str = "Invited";

/// Splits a list into API-sized batches.
pub fn batches<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    items.chunks(MAX_BATCH)
}

/// What a member's status means: monitored or invited needs no one; any other status that is
/// past `Created` is a member nobody monitors, and someone has to act.
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

/// Which service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    #[serde(rename = "guardduty")]
    GuardDuty,
    #[serde(rename = "securityhub")]
    SecurityHub,
}

impl Service {
    /// The service's name, as people read it.
    pub fn name(self) -> &'static str {
        match self {
            Service::GuardDuty => "GuardDuty",
            Service::SecurityHub => "Security Hub",
        }
    }

    /// The short form used in one-line report entries and the JSON response.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::GuardDuty => "guardduty",
            Service::SecurityHub => "securityhub",
        }
    }

    /// What to do about an unprocessed result of this service, where the result is known.
    pub fn result_action(self, step: Step, result: &str) -> Option<&'static str> {
        let specific = match self {
            Service::GuardDuty => guardduty::result_action(result),
            Service::SecurityHub => securityhub::result_action(result),
        };
        specific.or_else(|| advice::result_action(step, result))
    }

    /// What to do about a member in this status, where something is to be done.
    pub fn status_action(self, status: &str) -> Option<&'static str> {
        match self {
            Service::GuardDuty => guardduty::status_action(status),
            Service::SecurityHub => securityhub::status_action(status),
        }
    }

    /// What to do about a status that needs action but that this version does not know.
    pub fn unknown_status_action(self) -> &'static str {
        match self {
            Service::GuardDuty => guardduty::UNKNOWN_STATUS_ACTION,
            Service::SecurityHub => securityhub::UNKNOWN_STATUS_ACTION,
        }
    }
}

/// How this account administers a service's members in a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Administration {
    /// The organisation's delegated administrator: `CreateMembers` associates organisation
    /// accounts directly; accounts outside the organisation are still invited.
    DelegatedAdministrator,
    /// An administrator by invitation: every member is invited.
    Invitation,
    /// Not known: statuses are re-read after creating, which is right in both modes.
    Unknown,
}

/// A region where the service cannot be used: why, at which step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable {
    pub step: Step,
    pub reason: String,
}

/// `(account id, result)` for each account a call did not process.
pub type Refused = Vec<(String, String)>;

/// One service in one region, ready for the pipeline.
pub enum MemberService<'a> {
    GuardDuty(guardduty::Admin<'a>),
    SecurityHub(securityhub::Admin<'a>),
}

impl MemberService<'_> {
    pub fn service(&self) -> Service {
        match self {
            MemberService::GuardDuty(_) => Service::GuardDuty,
            MemberService::SecurityHub(_) => Service::SecurityHub,
        }
    }

    /// Readies the region (GuardDuty finds its detector) and says how members are administered.
    pub async fn prepare(&mut self, deadline: Deadline) -> Result<Administration, Unusable> {
        match self {
            MemberService::GuardDuty(gd) => gd.prepare(deadline).await,
            MemberService::SecurityHub(sh) => Ok(sh.administration()),
        }
    }

    /// The detector in use, for GuardDuty once prepared.
    pub fn detector_id(&self) -> Option<&str> {
        match self {
            MemberService::GuardDuty(gd) => gd.detector_id(),
            MemberService::SecurityHub(_) => None,
        }
    }

    /// The status of each account of one batch that is a member (`GetMembers`).
    pub async fn statuses(
        &self,
        deadline: Deadline,
        batch: &[&str],
    ) -> Result<HashMap<String, String>, CallError> {
        match self {
            MemberService::GuardDuty(gd) => gd.statuses(deadline, batch).await,
            MemberService::SecurityHub(sh) => sh.statuses(deadline, batch).await,
        }
    }

    /// Every member of the region with its status, whatever the relationship (`ListMembers`,
    /// every page).
    pub async fn list_members(
        &self,
        deadline: Deadline,
    ) -> Result<HashMap<String, String>, CallError> {
        match self {
            MemberService::GuardDuty(gd) => gd.list_members(deadline).await,
            MemberService::SecurityHub(sh) => sh.list_members(deadline).await,
        }
    }

    /// `CreateMembers` for one batch; the accounts it did not process, with its result.
    pub async fn create(
        &self,
        deadline: Deadline,
        batch: &[&MemberAccount],
    ) -> Result<Refused, CallError> {
        match self {
            MemberService::GuardDuty(gd) => gd.create(deadline, batch).await,
            MemberService::SecurityHub(sh) => sh.create(deadline, batch).await,
        }
    }

    /// `InviteMembers` for one batch; the accounts it did not process, with its result.
    pub async fn invite(&self, deadline: Deadline, batch: &[&str]) -> Result<Refused, CallError> {
        match self {
            MemberService::GuardDuty(gd) => gd.invite(deadline, batch).await,
            MemberService::SecurityHub(sh) => sh.invite(deadline, batch).await,
        }
    }

    /// Whether a per-account result only means another run got there first ("already a
    /// member", "already invited"): the member's status is then read again.
    pub fn is_race(&self, step: Step, result: &str) -> bool {
        match self {
            MemberService::GuardDuty(_) => guardduty::is_race(step, result),
            MemberService::SecurityHub(_) => securityhub::is_race(step, result),
        }
    }

    /// Remembers what was learnt of the region's administration, where the adapter keeps it.
    pub fn learn(&self, administration: Administration) {
        if let MemberService::GuardDuty(gd) = self {
            gd.learn(administration);
        }
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

    #[test]
    fn only_invited_and_enabled_members_need_no_one() {
        for status in ["Enabled", "Invited", "enabled", "ENABLED"] {
            assert!(!settled(status).needs_attention(), "{status}");
        }
        for status in [
            "EmailVerificationFailed",
            "EmailVerificationInProgress",
            "Resigned",
            "Removed",
            "Disabled",
            "Deleted",
            "AccountSuspended",
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

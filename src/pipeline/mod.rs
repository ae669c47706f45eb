//! The onboarding flow, and its order: every service in every region at once ([`region`]: check,
//! create, invite, in batches of 50), then, where a member role is configured and this is no dry
//! run, the invitations accepted in the member accounts ([`accept`]). The steps are written once
//! over [`MemberService`]; the services' calls are the adapters'.

pub mod accept;
pub mod departed;
pub mod region;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::future::join_all;

use crate::account::AccountNumber;
use crate::limits::Deadline;
use crate::org::MemberAccount;
use tracing::warn;

use crate::outcome::{Outcome, Reason, RegionOutcome, RegionProblem, Standing, Step};
use crate::service::{MemberService, Unusable};
use crate::text::redact_emails;

pub use accept::Acceptance;

/// How a run goes, the same for every service-region.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    pub deadline: Deadline,
    /// Read every member with `ListMembers` rather than checking the accounts in batches.
    pub sweep: bool,
    /// Only reads; say what would be done.
    pub dry_run: bool,
    /// How many batches of 50 go through their steps at once, in each service-region.
    pub concurrency: usize,
    /// For a sweep, what it knows of the organisation: then each region's members that the
    /// organisation no longer backs are reported (or removed) too.
    pub backing: Option<&'a Backing>,
}

/// What a sweep knows of the organisation beyond the accounts it onboards (its `ACTIVE` ones):
/// a member of a service-region that is neither is no longer backed by the organisation.
#[derive(Debug, Clone, Default)]
pub struct Backing {
    /// The accounts the sweep onboards (the organisation's `ACTIVE` ones): built once for every
    /// service-region (50,000 accounts: half a megabyte, where one per region would be 34).
    pub active: HashSet<AccountNumber>,
    /// The organisation's accounts that are not `ACTIVE`, with their standing.
    pub inactive: HashMap<AccountNumber, Standing>,
    /// Disassociate and delete such members (`REMOVE_DEPARTED_MEMBERS`); else only report them.
    pub remove: bool,
}

/// Onboards `accounts` with every service-region of `services`: one [`RegionOutcome`] each, in
/// the same order, every account's outcome kept.
pub async fn run(
    mut services: Vec<MemberService<'_>>,
    settings: Settings<'_>,
    acceptance: Option<Acceptance<'_>>,
    accounts: &[MemberAccount],
) -> Vec<RegionOutcome> {
    let accept = acceptance.is_some();
    // Boxed: each service-region's future is deep (adapter → pace → deadline → SDK), and the
    // boxes keep the run's future type within the compiler's layout depth limit.
    let mut outcomes = join_all(
        services
            .iter_mut()
            .map(|service| Box::pin(region::onboard(service, settings, accept, accounts))),
    )
    .await;
    if let (Some(acceptance), false) = (acceptance, settings.dry_run) {
        Box::pin(accept::accept_all(
            acceptance,
            &services,
            &mut outcomes,
            settings.deadline,
        ))
        .await;
    }
    outcomes
}

/// The memberships of accounts that left the organisation, in every service-region at once (see
/// [`departed::departures`]): nothing is onboarded, and nothing accepted. `remove`: disassociate
/// and delete them (`REMOVE_DEPARTED_MEMBERS`).
pub async fn departures(
    mut services: Vec<MemberService<'_>>,
    deadline: Deadline,
    dry_run: bool,
    remove: bool,
    ids: &[AccountNumber],
) -> Vec<RegionOutcome> {
    join_all(services.iter_mut().map(|service| {
        Box::pin(departed::departures(
            service, deadline, dry_run, remove, ids,
        ))
    }))
    .await
}

/// A service-region's outcome before any step: no rows, nothing learnt.
fn unstarted(service: &MemberService<'_>) -> RegionOutcome {
    RegionOutcome {
        service: service.service(),
        region: service.region().to_string(),
        detector_id: service.detector_id().map(str::to_owned),
        administration: None,
        auto_enable: None,
        problem: None,
        accounts: Vec::new(),
    }
}

/// Reports the service-region as not usable, once, for its `accounts`: why and at which step.
fn skip(outcome: &mut RegionOutcome, problem: Unusable, accounts: usize) {
    warn!(service = outcome.service.name(), region = %outcome.region, step = problem.step.as_str(), error = %redact_emails(&problem.reason.to_string()), "region skipped");
    outcome.problem = Some(RegionProblem {
        step: problem.step,
        reason: problem.reason,
        accounts,
    });
}

/// Marks the organisation's management account's rows that creating or inviting did not
/// process, so that they get the advice of that account: both services treat it apart (Security
/// Hub cannot enable it automatically). Its accept step has a reason of its own.
pub fn mark_management(regions: &mut [RegionOutcome], management: &str) {
    let rows = regions.iter_mut().flat_map(|r| r.accounts.iter_mut());
    for row in rows.filter(|row| row.account_id == management) {
        if let Outcome::Unprocessed {
            step: Step::Create | Step::Invite,
            result,
        } = &mut row.outcome
        {
            Arc::make_mut(result).wrap(Reason::ManagementAccount, |r| {
                matches!(r, Reason::ManagementAccount(_))
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{AccountOutcome, Service};

    #[test]
    fn the_management_account_s_unprocessed_rows_get_its_own_advice() {
        let row = |id: &str, outcome: Outcome| AccountOutcome {
            account_id: id.into(),
            account_name: None,
            outcome,
        };
        let refused = || Outcome::Unprocessed {
            step: Step::Create,
            result: std::sync::Arc::new(Reason::from("refused")),
        };
        let mut regions = vec![RegionOutcome {
            service: Service::SecurityHub,
            region: "us-east-1".to_owned(),
            detector_id: None,
            administration: None,
            auto_enable: None,
            problem: None,
            accounts: vec![
                row("111111111111", refused()),
                row("222222222222", refused()),
                row("111111111111", Outcome::Invited),
            ],
        }];
        mark_management(&mut regions, "111111111111");
        mark_management(&mut regions, "111111111111");
        let accounts = &regions[0].accounts;
        let Outcome::Unprocessed { step, result } = &accounts[0].outcome else {
            panic!()
        };
        assert_eq!(
            **result,
            Reason::ManagementAccount(Box::new(Reason::from("refused"))),
            "marked once"
        );
        assert_eq!(
            result.to_string(),
            "refused (this is the organisation's management account)"
        );
        let action = crate::service::result_action(Service::SecurityHub, *step, result);
        assert!(
            action.is_some_and(|a| a.contains("cannot enable it automatically")),
            "{action:?}"
        );
        assert_eq!(
            accounts[1].outcome,
            refused(),
            "another account is left as it was"
        );
        assert_eq!(accounts[2].outcome, Outcome::Invited);
    }
}

//! The onboarding flow, and its order: every service in every region at once ([`region`]: check,
//! create, invite, in batches of 50), then, where a member role is configured and this is no dry
//! run, the invitations accepted in the member accounts ([`accept`]). The steps are written once
//! over [`MemberService`]; the services' calls are the adapters'.

pub mod accept;
pub mod region;

use futures::future::join_all;

use crate::limits::Deadline;
use crate::org::MemberAccount;
use crate::outcome::RegionOutcome;
use crate::service::MemberService;

pub use accept::Acceptance;

/// How a run goes, the same for every service-region.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub deadline: Deadline,
    /// Read every member with `ListMembers` rather than checking the accounts in batches.
    pub sweep: bool,
    /// Only reads; say what would be done.
    pub dry_run: bool,
    /// How many batches of 50 go through their steps at once, in each service-region.
    pub concurrency: usize,
}

/// Onboards `accounts` with every service-region of `services`: one [`RegionOutcome`] each, in
/// the same order, every account's outcome kept.
pub async fn run(
    mut services: Vec<MemberService<'_>>,
    settings: Settings,
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

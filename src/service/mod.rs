//! The member services: GuardDuty and Security Hub seen through one small interface, so the
//! onboarding flow in [`crate::pipeline`] is written once.
//!
//! **An enum, not a trait.** The set is closed (two AWS services), so [`MemberService`] has one
//! variant per service, each wrapping that service's client and settings in one region, and every
//! method matches on the variant: static dispatch, no boxed futures, no extra crate, and an
//! exhaustive `match` makes both adapters change together. An adapter owns its service on both
//! sides: the administrator's calls, accepting the invitation in a member account (with the
//! member's credentials), its status names and result texts parsed into [`crate::outcome`]'s
//! types, and the actions suggested for them. The pipeline owns the flow, and the report renders
//! what the pipeline returns, asking the adapters here for the words.

pub mod guardduty;
pub mod securityhub;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use aws_config::SdkConfig;
use aws_sdk_guardduty::config::Credentials;

use crate::account::AccountNumber;
use crate::advice;
use crate::aws_error::CallError;
use crate::config::{MemberSettings, Region};
use crate::limits::Deadline;
use crate::org::MemberAccount;
use crate::outcome::{Administration, AutoEnable, MemberStatus, Reason, Service, Step};

/// The most accounts one member-API call takes (`CreateMembers`, `InviteMembers` and
/// `GetMembers` take at most 50 account ids in both services' API references).
pub const MAX_BATCH: usize = 50;

/// Members' statuses by account: a batch's (`GetMembers`) or a whole region's (a sweep's
/// `ListMembers`), keyed by [`AccountNumber`] so that a large organisation's lists stay small.
/// The services' models give member account ids as 12 digits; a member listed with anything else
/// is left out, and then treated as no member: `CreateMembers` answers for it.
pub type Statuses = HashMap<AccountNumber, MemberStatus>;

/// What `DescribeOrganizationConfiguration` told the delegated administrator in a region,
/// parsed once a run: the member quota and the organisation's auto-enable setting, each `None`
/// where the answer did not say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Organization {
    pub limit_reached: Option<bool>,
    pub auto_enable: Option<AutoEnable>,
}

/// An account's status in `statuses`.
pub fn status_of<'s>(statuses: &'s Statuses, id: &str) -> Option<&'s MemberStatus> {
    AccountNumber::of(id).and_then(|n| statuses.get(&n))
}

/// Splits a list into API-sized batches.
pub fn batches<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    items.chunks(MAX_BATCH)
}

/// An account a call did not process (`UnprocessedAccounts`): the service's result verbatim,
/// and whether it only means that another run got there first ("already a member", "already
/// invited"), as the adapter reads its service's texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub account_id: String,
    pub result: String,
    pub race: bool,
}

/// A region where the service cannot be used: why, at which step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable {
    pub step: Step,
    pub reason: Reason,
}

/// What was learnt of each service-region's [`Administration`], kept for the life of the
/// process: asked once per cold start, not on every run.
#[derive(Debug, Default)]
pub struct Administrations(Mutex<HashMap<(Service, String), Administration>>);

impl Administrations {
    pub(crate) fn get(&self, service: Service, region: &Region) -> Option<Administration> {
        let known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        known.get(&(service, region.as_str().to_owned())).copied()
    }

    /// Keeps a mode learnt; `Unknown` is not kept, so the next run asks again.
    pub(crate) fn learn(&self, service: Service, region: &Region, mode: Administration) {
        if mode != Administration::Unknown {
            let mut known = self.0.lock().unwrap_or_else(|e| e.into_inner());
            known.insert((service, region.as_str().to_owned()), mode);
        }
    }
}

/// One member account in one region, seen with its own credentials (the member role's): what
/// each adapter's member side works with.
pub(crate) struct Member<'a> {
    /// What the member's clients are built from.
    pub sdk: &'a SdkConfig,
    pub region: &'a Region,
    pub credentials: Credentials,
    /// What accepting switches on there where the service is off.
    pub settings: &'a MemberSettings,
}

/// Each region's clients, built once at cold start and kept with what they learn (the paces,
/// the administration mode).
pub struct RegionClients {
    pub region: Region,
    pub guardduty: guardduty::Clients,
    /// With Security Hub on.
    pub security_hub: Option<securityhub::Clients>,
}

impl RegionClients {
    /// The clients of one region: GuardDuty's, and Security Hub's when it is on. `attempts`
    /// bounds every call's attempts.
    pub fn new(sdk: &SdkConfig, region: &Region, security_hub: bool, attempts: u32) -> Self {
        RegionClients {
            region: region.clone(),
            guardduty: guardduty::Clients::new(sdk, region, attempts),
            security_hub: security_hub.then(|| securityhub::Clients::new(sdk, region, attempts)),
        }
    }
}

/// What every adapter of a run shares.
#[derive(Clone, Copy)]
pub struct Settings<'a> {
    /// The SDK configuration member-account clients are built from.
    pub sdk: &'a SdkConfig,
    /// GuardDuty detector ids given in the configuration, by region.
    pub detectors: &'a BTreeMap<Region, String>,
    pub invitation: guardduty::Invitation<'a>,
    /// What was learnt of each service-region's administration, for the life of the process.
    pub administrations: &'a Administrations,
    /// What accepting switches on in a member account where the service is off.
    pub member: &'a MemberSettings,
}

/// One service in one region, ready for the pipeline.
pub enum MemberService<'a> {
    GuardDuty(guardduty::Admin<'a>),
    SecurityHub(securityhub::Admin<'a>),
}

impl<'a> MemberService<'a> {
    /// Every service of a region that is on, administrator side.
    pub fn of_region(clients: &'a RegionClients, settings: Settings<'a>) -> Vec<MemberService<'a>> {
        let mut services = vec![MemberService::GuardDuty(guardduty::Admin::new(
            &clients.region,
            &clients.guardduty,
            settings,
        ))];
        if let Some(security_hub) = &clients.security_hub {
            services.push(MemberService::SecurityHub(securityhub::Admin::new(
                &clients.region,
                security_hub,
                settings,
            )));
        }
        services
    }
}

impl MemberService<'_> {
    pub fn service(&self) -> Service {
        match self {
            MemberService::GuardDuty(_) => Service::GuardDuty,
            MemberService::SecurityHub(_) => Service::SecurityHub,
        }
    }

    pub fn region(&self) -> &Region {
        match self {
            MemberService::GuardDuty(gd) => gd.region,
            MemberService::SecurityHub(sh) => sh.region,
        }
    }

    /// Readies the region (GuardDuty finds its detector) and says how members are administered.
    pub async fn prepare(&mut self, deadline: Deadline) -> Result<Administration, Unusable> {
        match self {
            MemberService::GuardDuty(gd) => gd.prepare(deadline).await,
            MemberService::SecurityHub(sh) => Ok(sh.prepare(deadline).await),
        }
    }

    /// Whether this account's member quota in the region is reached
    /// (`DescribeOrganizationConfiguration`'s `MemberAccountLimitReached`, which both services
    /// answer their delegated administrator), asked at most once a run; `None` where it cannot
    /// be known. Asked when the service refuses to create members, so that a quota reached is
    /// read from the service rather than counted against a number written here.
    pub async fn limit_reached(&self, deadline: Deadline) -> Option<bool> {
        self.organization(deadline)
            .await
            .and_then(|o| o.limit_reached)
    }

    /// The organisation's auto-enable setting in the region, from the same answer, asked at
    /// most once a run; `None` where it cannot be known (this account is not the delegated
    /// administrator, or the answer did not say).
    pub async fn auto_enable(&self, deadline: Deadline) -> Option<AutoEnable> {
        self.organization(deadline)
            .await
            .and_then(|o| o.auto_enable)
    }

    async fn organization(&self, deadline: Deadline) -> Option<Organization> {
        match self {
            MemberService::GuardDuty(gd) => gd.organization_answer(deadline).await,
            MemberService::SecurityHub(sh) => sh.organization_answer(deadline).await,
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
    ) -> Result<Statuses, CallError> {
        match self {
            MemberService::GuardDuty(gd) => gd.statuses(deadline, batch).await,
            MemberService::SecurityHub(sh) => sh.statuses(deadline, batch).await,
        }
    }

    /// Every member of the region with its status, whatever the relationship (`ListMembers`,
    /// every page).
    pub async fn list_members(&self, deadline: Deadline) -> Result<Statuses, CallError> {
        match self {
            MemberService::GuardDuty(gd) => gd.list_members(deadline).await,
            MemberService::SecurityHub(sh) => sh.list_members(deadline).await,
        }
    }

    /// `CreateMembers` for one batch; the accounts it did not process.
    pub async fn create(
        &self,
        deadline: Deadline,
        batch: &[&MemberAccount],
    ) -> Result<Vec<Refusal>, CallError> {
        match self {
            MemberService::GuardDuty(gd) => gd.create(deadline, batch).await,
            MemberService::SecurityHub(sh) => sh.create(deadline, batch).await,
        }
    }

    /// `InviteMembers` for one batch; the accounts it did not process.
    pub async fn invite(
        &self,
        deadline: Deadline,
        batch: &[&str],
    ) -> Result<Vec<Refusal>, CallError> {
        match self {
            MemberService::GuardDuty(gd) => gd.invite(deadline, batch).await,
            MemberService::SecurityHub(sh) => sh.invite(deadline, batch).await,
        }
    }

    /// Disassociates members the organisation no longer backs (at most 50): the accounts it
    /// could not disassociate, with their results.
    pub async fn disassociate(
        &self,
        deadline: Deadline,
        batch: &[&str],
    ) -> Result<Vec<Refusal>, CallError> {
        match self {
            MemberService::GuardDuty(gd) => gd.disassociate(deadline, batch).await,
            MemberService::SecurityHub(sh) => sh.disassociate(deadline, batch).await,
        }
    }

    /// Deletes disassociated members (at most 50): the accounts it could not delete, with their
    /// results.
    pub async fn delete(
        &self,
        deadline: Deadline,
        batch: &[&str],
    ) -> Result<Vec<Refusal>, CallError> {
        match self {
            MemberService::GuardDuty(gd) => gd.delete(deadline, batch).await,
            MemberService::SecurityHub(sh) => sh.delete(deadline, batch).await,
        }
    }

    /// Remembers what was learnt of the region's administration.
    pub fn learn(&self, administration: Administration) {
        match self {
            MemberService::GuardDuty(gd) => gd.learn(administration),
            MemberService::SecurityHub(sh) => sh.learn(administration),
        }
    }

    /// The member side: accepts `administrator`'s invitation in the member account whose
    /// `credentials` are given, in this service and region (enabling the service there first
    /// where it is off).
    /// Accepts the administrator's invitation in the member account whose `credentials` are
    /// given, switching the service on there first when it is off (with the member settings).
    /// `Ok(true)`: it was off and was switched on.
    pub async fn accept(
        &self,
        credentials: Credentials,
        administrator: &str,
        deadline: Deadline,
    ) -> Result<bool, Reason> {
        match self {
            MemberService::GuardDuty(gd) => gd.accept(credentials, administrator, deadline).await,
            MemberService::SecurityHub(sh) => sh.accept(credentials, administrator, deadline).await,
        }
    }
}

/// What to do about a member whose account the organisation no longer backs.
pub fn departed_action(service: Service) -> &'static str {
    match service {
        Service::GuardDuty => guardduty::DEPARTED_ACTION,
        Service::SecurityHub => securityhub::DEPARTED_ACTION,
    }
}

/// What the report says of a service's organisation auto-enable setting, where a person should
/// know: the service-regions where it is off (new accounts depend on this function alone), and
/// for Security Hub those under central configuration. Nothing where it is on.
pub fn auto_enable_note(service: Service, setting: AutoEnable) -> Option<&'static str> {
    match (service, setting) {
        (_, AutoEnable::On) => None,
        (Service::GuardDuty, AutoEnable::Off) => Some(guardduty::AUTO_ENABLE_OFF),
        (Service::SecurityHub, AutoEnable::Off) => Some(securityhub::AUTO_ENABLE_OFF),
        (Service::SecurityHub, AutoEnable::CentralConfiguration) => {
            Some(securityhub::CENTRAL_CONFIGURATION)
        }
        // GuardDuty has no central configuration; a setting it cannot answer is not reported.
        (Service::GuardDuty, AutoEnable::CentralConfiguration) => None,
    }
}

/// What to do about an unprocessed row of a service, where the reason is a known one: the
/// service's own words first, then those common to every AWS service.
pub fn result_action(service: Service, step: Step, reason: &Reason) -> Option<&'static str> {
    let specific = match service {
        Service::GuardDuty => guardduty::result_action(reason),
        Service::SecurityHub => securityhub::result_action(reason),
    };
    specific.or_else(|| advice::result_action(step, reason))
}

/// What to do about a member in this status, where something is to be done.
pub fn status_action(service: Service, status: &MemberStatus) -> Option<&'static str> {
    match service {
        Service::GuardDuty => guardduty::status_action(status),
        Service::SecurityHub => securityhub::status_action(status),
    }
}

/// What to do about a status that needs action but that this version does not know.
pub fn unknown_status_action(service: Service) -> &'static str {
    match service {
        Service::GuardDuty => guardduty::UNKNOWN_STATUS_ACTION,
        Service::SecurityHub => securityhub::UNKNOWN_STATUS_ACTION,
    }
}

/// The member side's invitation id from `administrator`, among a member's invitations to
/// `service` in `region`, each given as (inviting account, invitation id).
fn invitation_from<'i>(
    invitations: impl IntoIterator<Item = (Option<&'i str>, Option<&'i str>)>,
    administrator: &str,
    service: Service,
    region: &str,
) -> Result<String, Reason> {
    invitations
        .into_iter()
        .find(|(account, _)| *account == Some(administrator))
        .and_then(|(_, id)| id.map(str::to_owned))
        .ok_or_else(|| Reason::NoInvitation {
            service,
            administrator: administrator.to_owned(),
            region: region.to_owned(),
        })
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
    fn the_administrators_invitation_is_told_apart_from_others() {
        let invitations = [
            (Some("111111111111"), Some("other")),
            (None, Some("no-account")),
            (Some("999999999999"), Some("ours")),
        ];
        let find = |administrator| {
            invitation_from(invitations, administrator, Service::GuardDuty, "us-east-1")
        };
        assert_eq!(find("999999999999").as_deref(), Ok("ours"));
        assert!(matches!(
            find("222222222222"),
            Err(Reason::NoInvitation { administrator, .. }) if administrator == "222222222222"
        ));
    }
}

//! The GuardDuty adapter, administrator side: find the region's detector, learn whether this
//! account is the organisation's delegated administrator there, and the member calls
//! (`GetMembers`, `ListMembers`, `CreateMembers`, `InviteMembers` with the operator's message),
//! with GuardDuty's status names, result texts and suggested actions.
//!
//! **Organisation-managed members.** As the organisation's delegated administrator,
//! `CreateMembers` associates an organisation account directly (it becomes `Enabled`), and
//! inviting it is wrong. Asking once per region and process with
//! `DescribeOrganizationConfiguration` (it answers only the delegated administrator) costs R calls
//! per cold start, where re-reading every status after creating would cost ceil(N/50) × R calls
//! on every run. So the mode is learnt once per region and kept; only a delegated administrator
//! (or a region whose mode could not be learnt) re-reads after creating, and that re-read replaces
//! the invitation call for organisation accounts.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_guardduty::Client;
use aws_sdk_guardduty::types::AccountDetail;
use tracing::{info, warn};

use super::{Administration, MAX_BATCH, Refused, Unusable};
use crate::account::redact_emails;
use crate::advice;
use crate::config::Region;
use crate::limits::{CallError, Deadline};
use crate::org::MemberAccount;
use crate::outcome::Step;
use crate::pace::Paces;
use crate::paging;

/// The operations sent, each paced on its own: GuardDuty documents no rate for them, so their
/// paces start unpaced and learn from throttling. Every operation of the client is here: the
/// SDK does not retry a throttle on it ([`crate::pace::ThrottlesArePaced`]).
pub const OPERATIONS: &[&str] = &[
    "ListDetectors",
    "DescribeOrganizationConfiguration",
    "GetMembers",
    "ListMembers",
    "CreateMembers",
    "InviteMembers",
];

/// The part of `CreateMembers`' result that means the account is already a member.
const RACE_CREATE: &str = "already a member or associated member";
/// The part of `InviteMembers`' result that means the account is already invited or associated.
const RACE_INVITE: &str = "already invited or is already the GuardDuty master";

/// What goes with every GuardDuty invitation.
#[derive(Debug, Clone, Copy)]
pub struct Invitation<'a> {
    pub message: &'a str,
    pub disable_email_notification: bool,
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

/// GuardDuty in one region, for the administrator.
pub struct Admin<'a> {
    pub client: &'a Client,
    pub region: &'a Region,
    /// The detector given in the configuration, else the one discovered by `prepare`.
    pub detector: Option<String>,
    pub administrations: &'a Administrations,
    pub invitation: Invitation<'a>,
    /// The region's paces for the member operations ([`OPERATIONS`]).
    pub paces: &'a Paces,
}

impl Admin<'_> {
    pub(super) fn detector_id(&self) -> Option<&str> {
        self.detector.as_deref()
    }

    fn detector(&self) -> &str {
        self.detector.as_deref().unwrap_or_default()
    }

    pub(super) fn learn(&self, mode: Administration) {
        self.administrations.learn(self.region, mode);
    }

    /// Finds the detector (unless configured) and the administration mode (once per process).
    pub(super) async fn prepare(&mut self, deadline: Deadline) -> Result<Administration, Unusable> {
        if self.detector.is_none() {
            let region = self.region;
            let listed = self
                .paces
                .send("ListDetectors", deadline, || {
                    self.client.list_detectors().send()
                })
                .await
                .map_err(|e| Unusable {
                    step: Step::Detector,
                    reason: e.reason("ListDetectors"),
                })?;
            let id = listed.detector_ids().first().cloned().ok_or_else(|| Unusable {
                step: Step::Detector,
                reason: format!("there is no GuardDuty detector in {region}: enable GuardDuty in {region} in this account, or remove {region} from REGIONS"),
            })?;
            self.detector = Some(id);
        }
        if let Some(known) = self.administrations.get(self.region) {
            return Ok(known);
        }
        let asked = self
            .paces
            .send("DescribeOrganizationConfiguration", deadline, || {
                self.client
                    .describe_organization_configuration()
                    .detector_id(self.detector())
                    .send()
            })
            .await;
        // It answers only the delegated administrator and refuses any other account with
        // BadRequestException.
        let mode = match &asked {
            Ok(_) => Administration::DelegatedAdministrator,
            // A detector of another account is refused the same way: not a mode to remember.
            Err(CallError::Failed(reason)) if reason.contains("detectorId is not owned") => {
                return Err(Unusable {
                    step: Step::Detector,
                    reason: asked
                        .err()
                        .map(|e| e.reason("DescribeOrganizationConfiguration"))
                        .unwrap_or_default(),
                });
            }
            Err(CallError::Failed(reason)) if reason.starts_with("BadRequestException") => {
                Administration::Invitation
            }
            Err(e) if e.refuses_region() => {
                return Err(Unusable {
                    step: Step::Detector,
                    reason: e.reason("DescribeOrganizationConfiguration"),
                });
            }
            Err(_) => Administration::Unknown,
        };
        match asked {
            Err(e) if mode == Administration::Unknown => {
                warn!(region = %self.region, error = %redact_emails(&e.reason("DescribeOrganizationConfiguration")), "could not learn whether this account is the delegated administrator; member statuses are re-read after creating")
            }
            _ => {
                info!(region = %self.region, administration = ?mode, "GuardDuty administration learnt")
            }
        }
        self.administrations.learn(self.region, mode);
        Ok(mode)
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
                    .detector_id(self.detector())
                    .set_account_ids(Some(ids.clone()))
                    .send()
            })
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
                        .detector_id(self.detector())
                        // A string in GuardDuty's model: "false" lists every relationship.
                        .only_associated("false")
                        .max_results(MAX_BATCH as i32)
                        .set_next_token(token.clone())
                        .send()
                })
                .await?;
            members.extend(page.members().iter().filter_map(|m| {
                Some((
                    m.account_id()?.to_owned(),
                    m.relationship_status()?.to_owned(),
                ))
            }));
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
        let details: Vec<AccountDetail> = batch
            .iter()
            .map(|a| {
                AccountDetail::builder()
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
                    .detector_id(self.detector())
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
                    .detector_id(self.detector())
                    .set_account_ids(Some(batch.iter().map(|id| (*id).to_owned()).collect()))
                    .message(self.invitation.message)
                    .disable_email_notification(self.invitation.disable_email_notification)
                    .send()
            })
            .await?;
        Ok(refused(output.unprocessed_accounts()))
    }
}

fn refused(unprocessed: &[aws_sdk_guardduty::types::UnprocessedAccount]) -> Refused {
    unprocessed
        .iter()
        .filter_map(|u| {
            Some((
                u.account_id()?.to_owned(),
                u.result()
                    .unwrap_or("(GuardDuty gave no result text)")
                    .to_owned(),
            ))
        })
        .collect()
}

pub(super) fn is_race(step: Step, result: &str) -> bool {
    match step {
        Step::Create => result.contains(RACE_CREATE),
        Step::Invite => result.contains(RACE_INVITE),
        _ => false,
    }
}

/// GuardDuty's results, by a phrase they contain, and what to do about each.
const RESULT_ACTIONS: &[(&str, &str)] = &[
    (
        RACE_CREATE,
        "The account is already a member of this administrator; see its status in the GuardDuty console (Settings > Accounts). A member left at Created is invited on the next run.",
    ),
    (
        RACE_INVITE,
        "An invitation is pending or was accepted; nothing to do unless the member stays at Invited, then ask the account owner to accept it.",
    ),
    (
        "cannot become a member of itself",
        "This is the administrator account itself; nothing to do.",
    ),
    (
        "cannot invite itself",
        "This is the administrator account itself; nothing to do.",
    ),
    (
        "is not an associated member",
        "CreateMembers did not create this member; invoke the function again for this account.",
    ),
    (
        "detectorId is not owned",
        "Fix GUARDDUTY_DETECTOR_ID for this region, or unset it to discover the detector.",
    ),
    (
        "no GuardDuty detector",
        "Enable GuardDuty in this region of the administrator account, or remove the region from REGIONS.",
    ),
];

pub(super) fn result_action(result: &str) -> Option<&'static str> {
    advice::by_phrase(RESULT_ACTIONS, result)
}

/// Relationship statuses that need someone to act, and what to do.
const STATUS_ACTIONS: &[(&str, &str)] = &[
    (
        "Invited",
        "Invitation pending: ask the account owner to accept it in the GuardDuty console, or set MEMBER_ROLE_NAME to accept it for them.",
    ),
    (
        "EmailVerificationInProgress",
        "GuardDuty is verifying the member's email; check again later.",
    ),
    (
        "EmailVerificationFailed",
        "The invitation email could not be verified: check the account's email, then remove the member and invoke the function again.",
    ),
    (
        "Disabled",
        "The member is disabled and not monitored: re-enable it in the GuardDuty console (Settings > Accounts).",
    ),
    (
        "Removed",
        "The member was disassociated and is not monitored: re-add it deliberately in the GuardDuty console (an organisation account with Add member, an invited one with Invite).",
    ),
    (
        "Resigned",
        "The member resigned and is not monitored: ask the account owner why, then re-invite it deliberately in the GuardDuty console.",
    ),
];

pub(super) fn status_action(status: &str) -> Option<&'static str> {
    advice::by_status(STATUS_ACTIONS, status)
}

pub(super) const UNKNOWN_STATUS_ACTION: &str = "The member is not monitored in this status: look it up in the GuardDuty console (Settings > Accounts) and act on it.";

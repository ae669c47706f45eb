//! The GuardDuty adapter, administrator side: find the region's detector, learn whether this
//! account is the organisation's delegated administrator there, and the member calls
//! (`GetMembers`, `ListMembers`, `CreateMembers`, `InviteMembers` with the operator's message);
//! the member side, accepting the administrator's invitation in a member account; and GuardDuty's
//! status names, result texts and suggested actions.
//!
//! **Organisation-managed members.** As the organisation's delegated administrator,
//! `CreateMembers` associates an organisation account directly (it becomes `Enabled`), and
//! inviting it is wrong. Asking once per region and process with
//! `DescribeOrganizationConfiguration` (it answers only the delegated administrator) costs R calls
//! per cold start, where re-reading every status after creating would cost ceil(N/50) × R calls
//! on every run. So the mode is learnt once per region and kept; only a delegated administrator
//! (or a region whose mode could not be learnt) re-reads after creating, and that re-read replaces
//! the invitation call for organisation accounts.

mod member;

use aws_config::SdkConfig;
use aws_sdk_guardduty::Client;
use aws_sdk_guardduty::config::Credentials;
use aws_sdk_guardduty::operation::describe_organization_configuration::DescribeOrganizationConfigurationOutput;
use aws_sdk_guardduty::types::{AccountDetail, AutoEnableMembers, UnprocessedAccount};
use tokio::sync::OnceCell;
use tracing::{info, warn};

use super::{Administrations, MAX_BATCH, Organization, Refusal, Settings, Statuses, Unusable};
use crate::account::AccountNumber;
use crate::advice;
use crate::aws_error::CallError;
use crate::config::{MemberSettings, Region};
use crate::limits::Deadline;
use crate::org::MemberAccount;
use crate::outcome::{Administration, AutoEnable, MemberStatus, Reason, Service, Step};
use crate::pace::{Pace, Paces, ThrottlesArePaced};
use crate::text::redact_emails;

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
    "DisassociateMembers",
    "DeleteMembers",
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

/// GuardDuty's client in one region and the paces of its operations, built once at cold start.
/// Its throttled answers are not retried by the SDK but sent again through the operation's pace
/// ([`crate::pace`]).
pub struct Clients {
    client: Client,
    paces: Paces,
}

impl Clients {
    pub fn new(sdk: &SdkConfig, region: &Region, attempts: u32) -> Clients {
        let client = Client::from_conf(
            aws_sdk_guardduty::config::Builder::from(sdk)
                .region(aws_sdk_guardduty::config::Region::new(
                    region.as_str().to_owned(),
                ))
                .retry_classifier(ThrottlesArePaced)
                .interceptor(ThrottlesArePaced)
                .build(),
        );
        let paces = Paces::new(
            "GuardDuty",
            region.as_str(),
            OPERATIONS,
            Pace::unknown,
            attempts,
        );
        Clients { client, paces }
    }
}

/// GuardDuty in one region: the administrator's side, and the way into its members.
pub struct Admin<'a> {
    pub(super) region: &'a Region,
    client: &'a Client,
    paces: &'a Paces,
    /// The detector given in the configuration, else the one discovered by `prepare`.
    detector: Option<String>,
    administrations: &'a Administrations,
    /// What `DescribeOrganizationConfiguration` said this run, asked at most once; `None` where
    /// it could not be asked.
    organization_answer: OnceCell<Option<Organization>>,
    invitation: Invitation<'a>,
    /// What member-account clients are built from.
    sdk: &'a SdkConfig,
    /// What accepting switches on in a member account where the service is off.
    member: &'a MemberSettings,
}

impl<'a> Admin<'a> {
    pub fn new(region: &'a Region, clients: &'a Clients, settings: Settings<'a>) -> Admin<'a> {
        Admin {
            region,
            client: &clients.client,
            paces: &clients.paces,
            detector: settings.detectors.get(region).cloned(),
            administrations: settings.administrations,
            organization_answer: OnceCell::new(),
            invitation: settings.invitation,
            sdk: settings.sdk,
            member: settings.member,
        }
    }
}

impl Admin<'_> {
    pub(super) fn detector_id(&self) -> Option<&str> {
        self.detector.as_deref()
    }

    fn detector(&self) -> &str {
        self.detector.as_deref().unwrap_or_default()
    }

    pub(super) fn learn(&self, mode: Administration) {
        self.administrations
            .learn(Service::GuardDuty, self.region, mode);
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
                .map_err(|error| Unusable {
                    step: Step::Detector,
                    reason: Reason::call("ListDetectors", error),
                })?;
            let id = listed
                .detector_ids()
                .first()
                .cloned()
                .ok_or_else(|| Unusable {
                    step: Step::Detector,
                    reason: Reason::NoDetector {
                        region: region.to_string(),
                    },
                })?;
            self.detector = Some(id);
        }
        if let Some(known) = self.administrations.get(Service::GuardDuty, self.region) {
            return Ok(known);
        }
        let asked = self.organization(deadline).await;
        // It answers only the delegated administrator and refuses any other account with
        // BadRequestException; a detector of another account is refused with the same code,
        // and only the message tells it apart ("The request is rejected because the input
        // detectorId is not owned by the current account.").
        let mode = match asked {
            Ok(answer) => {
                let _ = self.organization_answer.set(Some(organization_of(&answer)));
                Administration::DelegatedAdministrator
            }
            Err(error) if error.aws().is_some_and(|e| e.says(DETECTOR_NOT_OWNED)) => {
                return Err(Unusable {
                    step: Step::Detector,
                    reason: Reason::call("DescribeOrganizationConfiguration", error),
                });
            }
            Err(error) if error.is("BadRequestException") => Administration::Invitation,
            Err(error) if error.refuses_region() => {
                return Err(Unusable {
                    step: Step::Detector,
                    reason: Reason::call("DescribeOrganizationConfiguration", error),
                });
            }
            Err(error) => {
                warn!(region = %self.region, error = %redact_emails(&error.to_string()), "could not learn whether this account is the delegated administrator; member statuses are re-read after creating");
                Administration::Unknown
            }
        };
        if mode != Administration::Unknown {
            info!(region = %self.region, administration = ?mode, "GuardDuty administration learnt");
        }
        self.learn(mode);
        Ok(mode)
    }

    /// What `DescribeOrganizationConfiguration` says this run: from `prepare` when it asked,
    /// else asked once. `None` where it cannot be known (it answers only the delegated
    /// administrator).
    pub(super) async fn organization_answer(&self, deadline: Deadline) -> Option<Organization> {
        *self
            .organization_answer
            .get_or_init(|| async {
                self.organization(deadline)
                    .await
                    .ok()
                    .map(|answer| organization_of(&answer))
            })
            .await
    }

    /// `DescribeOrganizationConfiguration` for the region's detector, through its pace.
    async fn organization(
        &self,
        deadline: Deadline,
    ) -> Result<DescribeOrganizationConfigurationOutput, CallError> {
        self.paces
            .send("DescribeOrganizationConfiguration", deadline, || {
                self.client
                    .describe_organization_configuration()
                    .detector_id(self.detector())
                    .send()
            })
            .await
    }

    pub(super) async fn statuses(
        &self,
        deadline: Deadline,
        batch: &[&str],
    ) -> Result<Statuses, CallError> {
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
        Ok(output.members().iter().filter_map(member_status).collect())
    }

    pub(super) async fn list_members(&self, deadline: Deadline) -> Result<Statuses, CallError> {
        let mut members = Statuses::new();
        self.paces
            .send_pages(
                "ListMembers",
                deadline,
                |token| {
                    self.client
                        .list_members()
                        .detector_id(self.detector())
                        // A string in GuardDuty's model: "false" lists every relationship.
                        .only_associated("false")
                        .max_results(MAX_BATCH as i32)
                        .set_next_token(token)
                        .send()
                },
                |page| page.next_token(),
                |page| members.extend(page.members().iter().filter_map(member_status)),
            )
            .await?;
        Ok(members)
    }

    pub(super) async fn create(
        &self,
        deadline: Deadline,
        batch: &[&MemberAccount],
    ) -> Result<Vec<Refusal>, CallError> {
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
        Ok(refusals(output.unprocessed_accounts(), Some(RACE_CREATE)))
    }

    pub(super) async fn invite(
        &self,
        deadline: Deadline,
        batch: &[&str],
    ) -> Result<Vec<Refusal>, CallError> {
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
        Ok(refusals(output.unprocessed_accounts(), Some(RACE_INVITE)))
    }

    /// `DisassociateMembers` (`POST /detector/{detectorId}/member/disassociate`, at most 50
    /// accounts): the members stop sharing findings; each account it could not disassociate is
    /// in `unprocessedAccounts`, with its result.
    pub(super) async fn disassociate(
        &self,
        deadline: Deadline,
        batch: &[&str],
    ) -> Result<Vec<Refusal>, CallError> {
        let output = self
            .paces
            .send("DisassociateMembers", deadline, || {
                self.client
                    .disassociate_members()
                    .detector_id(self.detector())
                    .set_account_ids(Some(batch.iter().map(|id| (*id).to_owned()).collect()))
                    .send()
            })
            .await?;
        Ok(refusals(output.unprocessed_accounts(), None))
    }

    /// `DeleteMembers` (`POST /detector/{detectorId}/member/delete`, at most 50 accounts), after
    /// disassociating them: GuardDuty's user guide removes an organisation member by
    /// disassociating, then deleting it.
    pub(super) async fn delete(
        &self,
        deadline: Deadline,
        batch: &[&str],
    ) -> Result<Vec<Refusal>, CallError> {
        let output = self
            .paces
            .send("DeleteMembers", deadline, || {
                self.client
                    .delete_members()
                    .detector_id(self.detector())
                    .set_account_ids(Some(batch.iter().map(|id| (*id).to_owned()).collect()))
                    .send()
            })
            .await?;
        Ok(refusals(output.unprocessed_accounts(), None))
    }

    /// The member side: accepts `administrator`'s invitation in the member account whose
    /// `credentials` are given ([`member::accept`]).
    pub(super) async fn accept(
        &self,
        credentials: Credentials,
        administrator: &str,
        deadline: Deadline,
    ) -> Result<bool, Reason> {
        let member = super::Member {
            sdk: self.sdk,
            region: self.region,
            credentials,
            settings: self.member,
        };
        member::accept(member, administrator, deadline).await
    }
}

fn member_status(m: &aws_sdk_guardduty::types::Member) -> Option<(AccountNumber, MemberStatus)> {
    Some((
        AccountNumber::of(m.account_id()?)?,
        MemberStatus::parse(m.relationship_status()?),
    ))
}

/// The per-account results of a call, with those that contain `race` marked as races.
/// The per-account results of a call; `race`, the part of a result that means another run got
/// there first, where the call has one.
fn refusals(unprocessed: &[UnprocessedAccount], race: Option<&str>) -> Vec<Refusal> {
    unprocessed
        .iter()
        .filter_map(|u| {
            let result = u
                .result()
                .unwrap_or("(GuardDuty gave no result text)")
                .to_owned();
            Some(Refusal {
                account_id: u.account_id()?.to_owned(),
                race: race.is_some_and(|race| result.contains(race)),
                result,
            })
        })
        .collect()
}

/// The message of `DescribeOrganizationConfiguration`'s `BadRequestException` for a detector
/// of another account.
const DETECTOR_NOT_OWNED: &str = "detectorId is not owned";

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
];

/// What to do about a member the organisation no longer backs.
pub(super) const DEPARTED_ACTION: &str = "This GuardDuty member's account has left the organisation or is no longer ACTIVE there, yet the member is still associated with this administrator. If the account is no longer yours, disassociate and delete the member in this region (GuardDuty console, Accounts; or DisassociateMembers, then DeleteMembers), or set REMOVE_DEPARTED_MEMBERS=true and the next sweep removes it.";

/// The report's note where the organisation's auto-enable is off.
pub(super) const AUTO_ENABLE_OFF: &str = "GuardDuty's organisation auto-enable is off (AutoEnableOrganizationMembers NONE): a new account of the organisation is covered only when this function enrols it. To have GuardDuty enable new accounts itself as well, set auto-enable to new accounts in those regions (GuardDuty console, Accounts, Auto-enable; or UpdateOrganizationConfiguration with AutoEnableOrganizationMembers NEW). This function never changes it.";

/// The delegated administrator's view of the organisation in a region. Auto-enable is
/// `AutoEnableOrganizationMembers` (`NEW`, `ALL` or `NONE`); the older `AutoEnable`, which the
/// API reference marks deprecated in its favour, is not read, so an answer without the newer
/// field says nothing about auto-enable.
fn organization_of(answer: &DescribeOrganizationConfigurationOutput) -> Organization {
    let auto_enable = match answer.auto_enable_organization_members() {
        Some(AutoEnableMembers::New | AutoEnableMembers::All) => Some(AutoEnable::On),
        Some(AutoEnableMembers::None) => Some(AutoEnable::Off),
        _ => None,
    };
    Organization {
        limit_reached: answer.member_account_limit_reached(),
        auto_enable,
    }
}

/// GuardDuty's member quota: "a limit of 50,000 member accounts per delegated GuardDuty
/// administrator account. This includes member accounts that are added through AWS
/// Organizations or those who accepted the GuardDuty administrator account's invitation" (GuardDuty
/// User Guide, "Managing GuardDuty accounts with AWS Organizations"), per region. Named for the
/// advice only: a quota reached is read from the service (`MemberAccountLimitReached`).
pub const MEMBER_QUOTA: u32 = 50_000;

/// What to do about a GuardDuty reason, where it is a known one.
pub(super) fn result_action(reason: &Reason) -> Option<&'static str> {
    match reason {
        Reason::MemberQuota(_) => Some(
            "GuardDuty's member quota here is reached (50,000 members per administrator and region, invited ones included): disassociate and delete members you no longer need, such as accounts that left the organisation, then invoke the function again for these accounts.",
        ),
        // "If the AWS Organizations management account ever disables GuardDuty, the delegated
        // GuardDuty administrator account can enable GuardDuty in the management account.
        // However, it is required that the management account must have not explicitly deleted
        // the Service-linked role permissions for GuardDuty" (GuardDuty User Guide,
        // "Understanding the relationship between GuardDuty administrator account and member
        // accounts").
        Reason::ManagementAccount(_) => Some(
            "This is the organisation's management account: enable GuardDuty in it yourself if it is off (the delegated administrator can enable it only while GuardDuty's service-linked role exists there), then invoke the function again for it.",
        ),
        Reason::Result(result) => advice::by_phrase(RESULT_ACTIONS, result),
        Reason::NoDetector { .. } => Some(
            "Enable GuardDuty in this region of the administrator account, or remove the region from REGIONS.",
        ),
        Reason::Call { error, .. } if error.aws().is_some_and(|e| e.says(DETECTOR_NOT_OWNED)) => {
            Some("Fix GUARDDUTY_DETECTOR_ID for this region, or unset it to discover the detector.")
        }
        _ => None,
    }
}

/// Relationship statuses that need someone to act, and what to do.
pub(super) fn status_action(status: &MemberStatus) -> Option<&'static str> {
    Some(match status {
        MemberStatus::Invited => {
            "Invitation pending: ask the account owner to accept it in the GuardDuty console, or set MEMBER_ROLE_NAME to accept it for them."
        }
        MemberStatus::EmailVerificationInProgress => {
            "GuardDuty is verifying the member's email; check again later."
        }
        MemberStatus::EmailVerificationFailed => {
            "The invitation email could not be verified: check the account's email, then remove the member and invoke the function again."
        }
        MemberStatus::Disabled => {
            "The member is disabled and not monitored: re-enable it in the GuardDuty console (Settings > Accounts)."
        }
        MemberStatus::Removed => {
            "The member was disassociated and is not monitored: re-add it deliberately in the GuardDuty console (an organisation account with Add member, an invited one with Invite)."
        }
        MemberStatus::Resigned => {
            "The member resigned and is not monitored: ask the account owner why, then re-invite it deliberately in the GuardDuty console."
        }
        _ => return None,
    })
}

pub(super) const UNKNOWN_STATUS_ACTION: &str = "The member is not monitored in this status: look it up in the GuardDuty console (Settings > Accounts) and act on it.";

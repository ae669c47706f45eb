//! The Security Hub adapter. Administrator side: `GetMembers`, `ListMembers`, `CreateMembers` and
//! `InviteMembers`; member side: accepting the administrator's invitation in a member account;
//! and Security Hub's status names, result texts and suggested actions.
//!
//! Security Hub documents a rate of 10 requests per second (burst 30) for these operations, so
//! each operation's calls in a region go through a [`Pace`](crate::pace::Pace) that starts at
//! that rate (and still adapts if the service throttles) rather than being throttled.
//! Its `InviteMembers` takes no message and no email opt-out. A region where Security Hub is not
//! enabled in this account answers `InvalidAccessException`, and the pipeline reports the region
//! once.
//!
//! **Organisation mode.** Once Security Hub has a delegated administrator, the organisation's
//! accounts are managed through Organizations: `CreateMembers` enables them ("Organization
//! accounts don't receive invitations"; invitations are for accounts outside the organisation,
//! `InviteMembers` reference). `DescribeOrganizationConfiguration` ("Only the Security Hub CSPM
//! administrator account can invoke this operation") tells the mode, once per region and
//! process, as for GuardDuty: answered, this account is the delegated administrator. AWS
//! documents no error for another caller; `InvalidAccessException` ("The account doesn't have
//! permission to perform this action", the operation's modelled 401) is taken for an
//! administrator by invitation, except when its message says Security Hub is not enabled here.
//! Any other answer leaves the mode unknown, and then statuses are re-read after creating, which
//! tells an organisation account the organisation enabled (`Enabled`) from one still to invite:
//! correct either way, at one more call per batch.

mod member;

use aws_config::SdkConfig;
use aws_sdk_securityhub::Client;
use aws_sdk_securityhub::config::Credentials;
use aws_sdk_securityhub::operation::describe_organization_configuration::DescribeOrganizationConfigurationOutput;
use aws_sdk_securityhub::types::{AccountDetails, OrganizationConfigurationConfigurationType};
use tokio::sync::OnceCell;
use tracing::{info, warn};

use super::{Administrations, MAX_BATCH, Organization, Refusal, Settings, Statuses};
use crate::account::AccountNumber;
use crate::advice;
use crate::aws_error::CallError;
use crate::config::{MemberSettings, Region};
use crate::limits::Deadline;
use crate::org::MemberAccount;
use crate::outcome::{Administration, AutoEnable, MemberStatus, Reason, Service};
use crate::pace::{Pace, Paces, ThrottlesArePaced};
use crate::text::redact_emails;

/// Security Hub's documented rate for each of the member operations: requests per second, and
/// burst.
pub const RATE: (u32, u32) = (10, 30);

/// The member operations, each paced on its own from [`RATE`].
pub const OPERATIONS: &[&str] = &[
    "DescribeOrganizationConfiguration",
    "GetMembers",
    "ListMembers",
    "CreateMembers",
    "InviteMembers",
    "DisassociateMembers",
    "DeleteMembers",
];

/// Parts of Security Hub's results that only mean the account is already a member or invited.
const RACES: &[&str] = &["already a member", "already invited", "already associated"];

/// The code Security Hub answers with in an account where it is not enabled ("Account … is not
/// subscribed to AWS Security Hub").
pub(super) const NOT_ENABLED: &str = "InvalidAccessException";

/// What that answer's message says when Security Hub is not enabled, rather than not allowed.
const NOT_SUBSCRIBED: &str = "not subscribed";

/// Security Hub's client in one region and the paces of its member operations, built once at
/// cold start.
pub struct Clients {
    client: Client,
    paces: Paces,
}

impl Clients {
    pub fn new(sdk: &SdkConfig, region: &Region, attempts: u32) -> Clients {
        let client = Client::from_conf(
            aws_sdk_securityhub::config::Builder::from(sdk)
                .region(aws_sdk_securityhub::config::Region::new(
                    region.as_str().to_owned(),
                ))
                .retry_classifier(ThrottlesArePaced)
                .interceptor(ThrottlesArePaced)
                .build(),
        );
        let (per_second, burst) = RATE;
        let paces = Paces::new(
            "SecurityHub",
            region.as_str(),
            OPERATIONS,
            || Pace::documented(per_second, burst),
            attempts,
        );
        Clients { client, paces }
    }
}

/// Security Hub in one region: the administrator's side, and the way into its members.
pub struct Admin<'a> {
    pub(super) region: &'a Region,
    client: &'a Client,
    paces: &'a Paces,
    /// What member-account clients are built from.
    sdk: &'a SdkConfig,
    /// What accepting switches on in a member account where the service is off.
    member: &'a MemberSettings,
    administrations: &'a Administrations,
    /// What `DescribeOrganizationConfiguration` said this run, asked at most once; `None` where
    /// it could not be asked.
    organization_answer: OnceCell<Option<Organization>>,
}

impl<'a> Admin<'a> {
    pub fn new(region: &'a Region, clients: &'a Clients, settings: Settings<'a>) -> Admin<'a> {
        Admin {
            region,
            client: &clients.client,
            paces: &clients.paces,
            sdk: settings.sdk,
            member: settings.member,
            administrations: settings.administrations,
            organization_answer: OnceCell::new(),
        }
    }
}

impl Admin<'_> {
    /// The administration mode, learnt once per region and process (see the module's comment).
    /// Never a refusal of the region: AWS documents no answer for an account that is not the
    /// delegated administrator, and an `AccessDeniedException` could be that answer as well as a
    /// policy denying the region. A region refused outright, or where Security Hub is off, is
    /// found by the next call, `GetMembers`, and reported once there.
    pub(super) async fn prepare(&self, deadline: Deadline) -> Administration {
        if let Some(known) = self.administrations.get(Service::SecurityHub, self.region) {
            return known;
        }
        let asked = self.organization(deadline).await;
        let mode = match asked {
            Ok(answer) => {
                let _ = self.organization_answer.set(Some(organization_of(&answer)));
                Administration::DelegatedAdministrator
            }
            Err(error) if error.aws().is_some_and(|e| e.says(NOT_SUBSCRIBED)) => {
                Administration::Unknown
            }
            Err(error) if error.is(NOT_ENABLED) => Administration::Invitation,
            Err(error) => {
                warn!(region = %self.region, error = %redact_emails(&error.to_string()), "could not learn whether this account is Security Hub's delegated administrator; member statuses are re-read after creating");
                Administration::Unknown
            }
        };
        if mode != Administration::Unknown {
            info!(region = %self.region, administration = ?mode, "Security Hub administration learnt");
        }
        self.learn(mode);
        mode
    }

    pub(super) fn learn(&self, mode: Administration) {
        self.administrations
            .learn(Service::SecurityHub, self.region, mode);
    }

    /// What `DescribeOrganizationConfiguration` says this run: from `prepare` when it asked,
    /// else asked once; `None` where it cannot be known.
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

    /// `DescribeOrganizationConfiguration`, through its pace.
    async fn organization(
        &self,
        deadline: Deadline,
    ) -> Result<DescribeOrganizationConfigurationOutput, CallError> {
        self.paces
            .send("DescribeOrganizationConfiguration", deadline, || {
                self.client.describe_organization_configuration().send()
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
                        // The default (true) lists only Enabled members.
                        .only_associated(false)
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
        Ok(refusals(output.unprocessed_accounts()))
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
                    .set_account_ids(Some(batch.iter().map(|id| (*id).to_owned()).collect()))
                    .send()
            })
            .await?;
        Ok(refusals(output.unprocessed_accounts()))
    }

    /// `DisassociateMembers` (`POST /members/disassociate`): its answer is empty, so a call
    /// that succeeds has disassociated every account it named, and one that fails none.
    pub(super) async fn disassociate(
        &self,
        deadline: Deadline,
        batch: &[&str],
    ) -> Result<Vec<Refusal>, CallError> {
        self.paces
            .send("DisassociateMembers", deadline, || {
                self.client
                    .disassociate_members()
                    .set_account_ids(Some(batch.iter().map(|id| (*id).to_owned()).collect()))
                    .send()
            })
            .await?;
        Ok(Vec::new())
    }

    /// `DeleteMembers` (`POST /members/delete`), after disassociating; each account it could
    /// not delete is in `UnprocessedAccounts`, with its result.
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
                    .set_account_ids(Some(batch.iter().map(|id| (*id).to_owned()).collect()))
                    .send()
            })
            .await?;
        Ok(refusals(output.unprocessed_accounts()))
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

fn member_status(m: &aws_sdk_securityhub::types::Member) -> Option<(AccountNumber, MemberStatus)> {
    Some((
        AccountNumber::of(m.account_id()?)?,
        MemberStatus::parse(m.member_status()?),
    ))
}

/// The per-account results of a call, races marked.
fn refusals(unprocessed: &[aws_sdk_securityhub::types::Result]) -> Vec<Refusal> {
    unprocessed
        .iter()
        .filter_map(|u| {
            let result = u
                .processing_result()
                .unwrap_or("(Security Hub gave no processing result)")
                .to_owned();
            let lower = result.to_ascii_lowercase();
            Some(Refusal {
                account_id: u.account_id()?.to_owned(),
                race: RACES.iter().any(|phrase| lower.contains(phrase)),
                result,
            })
        })
        .collect()
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

/// What to do about a member the organisation no longer backs.
pub(super) const DEPARTED_ACTION: &str = "This Security Hub member's account has left the organisation or is no longer ACTIVE there, yet the member is still associated with this administrator. If the account is no longer yours, disassociate and delete the member in this region (Security Hub console, Configuration, Accounts; or DisassociateMembers, then DeleteMembers; under central configuration, a configuration policy that disables Security Hub), or set REMOVE_DEPARTED_MEMBERS=true and the next sweep removes it.";

/// The report's note where the organisation's auto-enable is off.
pub(super) const AUTO_ENABLE_OFF: &str = "Security Hub's organisation auto-enable is off (AutoEnable false, local configuration): a new account of the organisation is covered only when this function enrols it. To have Security Hub enable new accounts itself as well, turn on auto-enable in those regions (Security Hub console, Configuration, Organization; or UpdateOrganizationConfiguration with AutoEnable true), or use central configuration with a policy that enables Security Hub. This function never changes it.";

/// The report's note where Security Hub uses central configuration.
pub(super) const CENTRAL_CONFIGURATION: &str = "Security Hub uses central configuration: its configuration policies, not auto-enable (always off there), decide whether a new account of the organisation is enabled. Check that a policy associated with the new accounts enables Security Hub. This function never changes it.";

/// The delegated administrator's view of the organisation in a region. Under `CENTRAL`
/// configuration, "AutoEnable is set to false and can't be updated" and configuration policies
/// decide (API reference, `DescribeOrganizationConfiguration`), so it is read as central
/// configuration, not as auto-enable off; under `LOCAL`, `AutoEnable` is the setting.
fn organization_of(answer: &DescribeOrganizationConfigurationOutput) -> Organization {
    let central = answer
        .organization_configuration()
        .and_then(|c| c.configuration_type())
        .is_some_and(|t| *t == OrganizationConfigurationConfigurationType::Central);
    let auto_enable = if central {
        Some(AutoEnable::CentralConfiguration)
    } else {
        answer
            .auto_enable()
            .map(|on| if on { AutoEnable::On } else { AutoEnable::Off })
    };
    Organization {
        limit_reached: answer.member_account_limit_reached(),
        auto_enable,
    }
}

/// Security Hub's member quotas, per region: "up to 10,000 member accounts per delegated
/// administrator account in each AWS Region", and "up to 1,000 member account invitations per
/// administrator account in each Region" (Security Hub User Guide, "Account restrictions and
/// recommendations"). Named for the advice only: a quota reached is read from the service
/// (`MemberAccountLimitReached`, or a `LimitExceededException` about a quota).
pub const MEMBER_QUOTAS: (u32, u32) = (1_000, 10_000);

const QUOTA_ACTION: &str = "Security Hub's member quota here is reached (1,000 invited members per administrator, 10,000 per delegated administrator, in each region): manage the organisation's accounts through Organizations by making this account Security Hub's delegated administrator, or remove members you no longer need; then invoke the function again for these accounts.";

/// What to do about a Security Hub reason, where it is a known one.
pub(super) fn result_action(reason: &Reason) -> Option<&'static str> {
    match reason {
        Reason::MemberQuota(_) => Some(QUOTA_ACTION),
        Reason::Call { error, .. } if error.aws().is_some_and(|e| e.is_quota()) => {
            Some(QUOTA_ACTION)
        }
        // "Security Hub CSPM cannot be enabled automatically for the organization management
        // account. The organization management account must enable Security Hub CSPM before the
        // administrator account enables it as a member account" (CreateMembers API reference).
        Reason::ManagementAccount(_) => Some(
            "This is the organisation's management account: Security Hub cannot enable it automatically. Enable Security Hub in the management account yourself, then invoke the function again for it.",
        ),
        Reason::Result(result) => advice::by_phrase(RESULT_ACTIONS, result),
        Reason::Call { error, .. } if error.is(NOT_ENABLED) => Some(
            "Enable Security Hub in this region of the administrator account, or set ENABLE_SECURITY_HUB=false.",
        ),
        _ => None,
    }
}

/// Member statuses that need someone to act, and what to do.
pub(super) fn status_action(status: &MemberStatus) -> Option<&'static str> {
    Some(match status {
        MemberStatus::Invited => {
            "Invitation pending: ask the account owner to accept it in the Security Hub console, or set MEMBER_ROLE_NAME to accept it for them."
        }
        MemberStatus::Removed => {
            "The member was disassociated and is not monitored: re-add it deliberately in the Security Hub console (Settings > Accounts)."
        }
        MemberStatus::Resigned => {
            "The member left and is not monitored: ask the account owner why, then re-invite it deliberately in the Security Hub console."
        }
        MemberStatus::Deleted => {
            "The member was deleted: invoke the function again for this account to add it back."
        }
        MemberStatus::AccountSuspended => {
            "The account is suspended; nothing to do unless it is reinstated."
        }
        _ => return None,
    })
}

pub(super) const UNKNOWN_STATUS_ACTION: &str = "The member is not monitored in this status: look it up in the Security Hub console (Settings > Accounts) and act on it.";

//! What happened to each account: the outcomes the handler returns and the report renders, in
//! the words of this domain: the services, a member's status, the step, and why an account was not
//! processed. Every AWS answer arrives here already parsed; the texts people read are rendered
//! from these types ([`fmt::Display`]) and never parsed again.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use serde::{Serialize, Serializer};

use crate::aws_error::CallError;
use crate::shared::Shared;

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

/// The organisation's auto-enable setting in a service-region, as the delegated administrator's
/// `DescribeOrganizationConfiguration` answers it: whether the service itself makes new
/// organisation accounts members, without this function. Read, reported, never changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoEnable {
    /// GuardDuty `AutoEnableOrganizationMembers` `NEW` or `ALL`; Security Hub `AutoEnable` true.
    On,
    /// GuardDuty `AutoEnableOrganizationMembers` `NONE`; Security Hub `AutoEnable` false under
    /// `LOCAL` configuration: new accounts there depend on this function alone.
    Off,
    /// Security Hub under `CENTRAL` configuration, where `AutoEnable` is always false and the
    /// configuration policies decide.
    CentralConfiguration,
}

/// A member's relationship status, as the administrator's `GetMembers` and `ListMembers` give it.
///
/// Security Hub documents its statuses in its API reference (`Member.MemberStatus`: `Created`,
/// `Invited`, `Enabled`, `Removed`, `Resigned`, `Deleted`, `AccountSuspended`; older SDK
/// references spell them in capitals, hence the comparison that ignores case). GuardDuty's
/// reference gives `relationshipStatus` as a plain string; the statuses its user guide and
/// console show are `Created`, `Invited`, `Enabled`, `Disabled`, `Removed`, `Resigned`,
/// `EmailVerificationInProgress` and `EmailVerificationFailed`. Any other status is kept as it
/// came ([`MemberStatus::Other`]) and reported verbatim, never guessed at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MemberStatus {
    /// Added by the administrator, never invited.
    Created,
    /// Invited; the invitation is pending.
    Invited,
    /// Monitored: the member's findings reach the administrator.
    Enabled,
    Disabled,
    Removed,
    Resigned,
    Deleted,
    EmailVerificationInProgress,
    EmailVerificationFailed,
    AccountSuspended,
    /// A status this version does not know, verbatim.
    Other(Shared),
}

impl MemberStatus {
    const KNOWN: [MemberStatus; 10] = [
        MemberStatus::Created,
        MemberStatus::Invited,
        MemberStatus::Enabled,
        MemberStatus::Disabled,
        MemberStatus::Removed,
        MemberStatus::Resigned,
        MemberStatus::Deleted,
        MemberStatus::EmailVerificationInProgress,
        MemberStatus::EmailVerificationFailed,
        MemberStatus::AccountSuspended,
    ];

    /// A status as a service gave it.
    pub fn parse(given: &str) -> MemberStatus {
        MemberStatus::KNOWN
            .into_iter()
            .find(|known| known.as_str().eq_ignore_ascii_case(given))
            .unwrap_or_else(|| MemberStatus::Other(Shared::from(given)))
    }

    pub fn as_str(&self) -> &str {
        match self {
            MemberStatus::Created => "Created",
            MemberStatus::Invited => "Invited",
            MemberStatus::Enabled => "Enabled",
            MemberStatus::Disabled => "Disabled",
            MemberStatus::Removed => "Removed",
            MemberStatus::Resigned => "Resigned",
            MemberStatus::Deleted => "Deleted",
            MemberStatus::EmailVerificationInProgress => "EmailVerificationInProgress",
            MemberStatus::EmailVerificationFailed => "EmailVerificationFailed",
            MemberStatus::AccountSuspended => "AccountSuspended",
            MemberStatus::Other(given) => given,
        }
    }

    /// Monitored, or with its invitation pending: nobody needs to act (the invitation is the
    /// member's to accept).
    pub fn is_settled(&self) -> bool {
        matches!(self, MemberStatus::Enabled | MemberStatus::Invited)
    }
}

impl From<&str> for MemberStatus {
    fn from(given: &str) -> MemberStatus {
        MemberStatus::parse(given)
    }
}

impl PartialEq<str> for MemberStatus {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl fmt::Display for MemberStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for MemberStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Why an account, or a whole service-region, was not processed: what happened, kept typed.
/// [`fmt::Display`] gives the words the report and the response show.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The service's own result for this account (`UnprocessedAccounts`), verbatim.
    Result(String),
    /// A call that failed as a whole, after its retries, or that the deadline stopped.
    Call {
        operation: &'static str,
        error: CallError,
    },
    /// Organizations' `DescribeAccount` failed: the service's words alone.
    Lookup(CallError),
    /// The event's entry cannot be used (the validate step): why, in words.
    Invalid(String),
    /// Organizations gave the account without a usable email (`operation` says which call).
    NoEmail { operation: &'static str },
    /// `ListAccounts` gave an account without a 12-digit id.
    NoAccountId,
    /// The administrator account has no GuardDuty detector in the region.
    NoDetector { region: String },
    /// The member role could not be assumed.
    AssumeRole { arn: String, error: CallError },
    /// `AssumeRole` answered without credentials.
    NoCredentials { arn: String },
    /// The member account has no pending invitation from the administrator.
    NoInvitation {
        service: Service,
        administrator: String,
        region: String,
    },
    /// The function's own account is not in its ARN, so its invitations cannot be told apart.
    AdministratorUnknown,
    /// The member role is never assumed in the organisation's management account.
    ManagementNotEntered,
    /// GuardDuty's `CreateDetector` in the member account gave no detector id.
    NoDetectorCreated,
    /// Invited, but the invitation could not be accepted in the member account.
    NotAccepted(Box<Reason>),
    /// The service refused to create the member, and its `DescribeOrganizationConfiguration`
    /// says this administrator's member quota in the region is reached
    /// (`MemberAccountLimitReached`): what it answered.
    MemberQuota(Box<Reason>),
    /// Not processed, for the organisation's management account: what happened. Both services
    /// treat that account apart, so it has advice of its own.
    ManagementAccount(Box<Reason>),
    /// No step recorded an outcome for the account: a bug, reported rather than dropped.
    Lost,
}

impl Reason {
    /// A call's failure.
    pub fn call(operation: &'static str, error: CallError) -> Reason {
        Reason::Call { operation, error }
    }

    /// Wraps the reason in place (`MemberQuota`, `ManagementAccount`), once: a reason already of
    /// the wrapper's kind, as `is_wrapped` says, is left as it is.
    pub fn wrap(&mut self, wrapper: fn(Box<Reason>) -> Reason, is_wrapped: fn(&Reason) -> bool) {
        if !is_wrapped(self) {
            let inner = std::mem::replace(self, Reason::Lost);
            *self = wrapper(Box::new(inner));
        }
    }

    /// The call error behind the reason, where there is one.
    pub fn call_error(&self) -> Option<&CallError> {
        match self {
            Reason::Call { error, .. }
            | Reason::Lookup(error)
            | Reason::AssumeRole { error, .. } => Some(error),
            Reason::NotAccepted(inner)
            | Reason::MemberQuota(inner)
            | Reason::ManagementAccount(inner) => inner.call_error(),
            _ => None,
        }
    }
}

impl Reason {
    /// The words, borrowed where they are a service's or an event's own text.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Reason::Result(text) | Reason::Invalid(text) => std::borrow::Cow::Borrowed(text),
            other => std::borrow::Cow::Owned(other.to_string()),
        }
    }
}

impl From<&str> for Reason {
    /// A service's per-account result.
    fn from(result: &str) -> Reason {
        Reason::Result(result.to_owned())
    }
}

impl From<String> for Reason {
    /// A service's per-account result.
    fn from(result: String) -> Reason {
        Reason::Result(result)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Result(text) | Reason::Invalid(text) => f.write_str(text),
            Reason::Call {
                operation,
                error: CallError::Failed(e),
            } => write!(f, "{operation} failed: {e}"),
            Reason::Call { error, .. } | Reason::Lookup(error) => error.fmt(f),
            Reason::NoEmail { operation } => write!(
                f,
                "{operation} returned no usable email for this account; invoke the function manually with the account's email"
            ),
            Reason::NoAccountId => f.write_str(
                "ListAccounts returned this account without a 12-digit id, so it cannot be onboarded; look it up in Organizations",
            ),
            Reason::NoDetector { region } => write!(
                f,
                "there is no GuardDuty detector in {region}: enable GuardDuty in {region} in this account, or remove {region} from REGIONS"
            ),
            Reason::AssumeRole {
                arn,
                error: CallError::Failed(e),
            } => write!(f, "AssumeRole failed for {arn}: {e}"),
            Reason::AssumeRole { error, .. } => error.fmt(f),
            Reason::NoCredentials { arn } => {
                write!(f, "AssumeRole of {arn} returned no credentials")
            }
            Reason::NoInvitation {
                service,
                administrator,
                region,
            } => write!(
                f,
                "no pending invitation from {administrator} in the member account for {} in {region} (it may have been accepted, declined or deleted)",
                service.name()
            ),
            Reason::AdministratorUnknown => f.write_str(
                "the function's own account is not in its ARN, so the administrator's invitation cannot be told apart; accept it in the member account",
            ),
            Reason::ManagementNotEntered => f.write_str(
                "the member role is never assumed in the organisation's management account",
            ),
            Reason::NoDetectorCreated => {
                f.write_str("GuardDuty CreateDetector returned no detector id")
            }
            Reason::NotAccepted(inner) => {
                write!(f, "invited, but not accepted in the member account: {inner}")
            }
            Reason::MemberQuota(inner) => write!(
                f,
                "the administrator's member quota in this region is reached (DescribeOrganizationConfiguration: MemberAccountLimitReached): {inner}"
            ),
            Reason::ManagementAccount(inner) => write!(
                f,
                "{inner} (this is the organisation's management account)"
            ),
            Reason::Lost => f.write_str(
                "no step recorded an outcome for this account; please report this as a bug",
            ),
        }
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The step at which an account was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// The event entry is not a valid account, a duplicate, or the function's own account.
    Validate,
    /// Organizations did not give the account's email.
    Lookup,
    /// The region's GuardDuty detector could not be found.
    Detector,
    /// `GetMembers`, which tells whether the account is already a member.
    Check,
    /// `ListMembers`, which a sweep reads every member with.
    List,
    /// `CreateMembers`.
    Create,
    /// `InviteMembers`.
    Invite,
    /// Accepting the invitation in the member account, through the member role.
    Accept,
    /// `DisassociateMembers`, for a member the organisation no longer backs.
    Disassociate,
    /// `DeleteMembers`, after disassociating it.
    Delete,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Validate => "validate",
            Step::Lookup => "lookup",
            Step::Detector => "detector",
            Step::Check => "check",
            Step::List => "list",
            Step::Create => "create",
            Step::Invite => "invite",
            Step::Accept => "accept",
            Step::Disassociate => "disassociate",
            Step::Delete => "delete",
        }
    }
}

/// What a dry run would do for an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    /// Not a member: `CreateMembers`, then `InviteMembers` unless the organisation associates it.
    Create,
    /// A member at `Created`, never invited: `InviteMembers`.
    Invite,
    /// An invitation pending: accept it in the member account, through the member role.
    Accept,
    /// A member the organisation no longer backs, with `REMOVE_DEPARTED_MEMBERS`: disassociate
    /// and delete it.
    Remove,
}

impl Plan {
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Create => "create",
            Plan::Invite => "invite",
            Plan::Accept => "accept",
            Plan::Remove => "remove",
        }
    }

    /// What would be done, and why, in words.
    pub fn explain(self, accept: bool) -> &'static str {
        match (self, accept) {
            (Plan::Create, false) => {
                "not a member: would create it, then invite it unless the organisation associates it"
            }
            (Plan::Create, true) => {
                "not a member: would create it, invite it unless the organisation associates it, and accept the invitation in the member account"
            }
            (Plan::Invite, false) => "a member at Created, never invited: would invite it",
            (Plan::Invite, true) => {
                "a member at Created, never invited: would invite it and accept the invitation in the member account"
            }
            (Plan::Accept, _) => {
                "invitation pending: would accept it in the member account through the member role"
            }
            (Plan::Remove, _) => {
                "a member the organisation no longer backs: would disassociate and delete it (REMOVE_DEPARTED_MEMBERS)"
            }
        }
    }
}

/// Where a member's account stands in the organisation, when the organisation no longer backs
/// it: absent, or its `State` in Organizations other than `ACTIVE`. One byte, so that a row stays
/// small (a sweep holds one per account, service and region); the states as Organizations spells
/// them are in the run's `inactive` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Standing {
    /// Not in the organisation (it left, was removed, or was closed and cleaned up).
    Absent,
    Suspended,
    PendingClosure,
    Closed,
    PendingActivation,
    /// A state Organizations added after this was written.
    NotActive,
}

impl Standing {
    /// The standing of an account whose state in Organizations is `state` (not `ACTIVE`).
    pub fn of_state(state: &str) -> Standing {
        match state.to_ascii_uppercase().as_str() {
            "SUSPENDED" => Standing::Suspended,
            "PENDING_CLOSURE" => Standing::PendingClosure,
            "CLOSED" => Standing::Closed,
            "PENDING_ACTIVATION" => Standing::PendingActivation,
            _ => Standing::NotActive,
        }
    }

    /// In words, for the report: "not in the organisation", "SUSPENDED in the organisation".
    pub fn describe(self) -> &'static str {
        match self {
            Standing::Absent => "not in the organisation",
            Standing::Suspended => "SUSPENDED in the organisation",
            Standing::PendingClosure => "PENDING_CLOSURE in the organisation",
            Standing::Closed => "CLOSED in the organisation",
            Standing::PendingActivation => "PENDING_ACTIVATION in the organisation",
            Standing::NotActive => "not ACTIVE in the organisation",
        }
    }
}

/// The outcome of one account in one region (or, for `validate` and `lookup`, in all of them).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// `CreateMembers` (now or in an earlier run) and `InviteMembers` accepted it.
    Invited,
    /// `CreateMembers` associated it through the organisation (the administrator is the
    /// organisation's delegated administrator): monitored, and no invitation is needed.
    EnabledByOrganization,
    /// Invited, and the invitation accepted in the member account through the member role: the
    /// member is `Enabled`. `switched_on`: the service was off there, and accepting switched it
    /// on with the member settings (a GuardDuty detector created, Security Hub enabled).
    Accepted { switched_on: bool },
    /// Already a member, monitored or with its invitation pending: not invited again.
    /// `status` is its relationship status.
    AlreadyMember { status: MemberStatus },
    /// A member that is not monitored (it resigned, was removed or disabled, or its email
    /// failed verification): someone has to act. Never invited again by the function.
    NeedsAction { status: MemberStatus },
    /// A dry run: what would be done. `status` is the member's status, where it is one.
    WouldDo {
        plan: Plan,
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<MemberStatus>,
        accept: bool,
    },
    /// A member whose account the organisation no longer backs: absent from it, or there but
    /// not `ACTIVE` ([`Standing`]). Its findings still reach this administrator; nothing was
    /// changed. `status` is its relationship status.
    Departed {
        status: MemberStatus,
        standing: Standing,
    },
    /// Such a member, disassociated and deleted (`REMOVE_DEPARTED_MEMBERS`).
    Removed { standing: Standing },
    /// Not processed: the step, and why (the service's result or error verbatim, rendered).
    /// Boxed: a reason is larger than any other outcome, and most rows are not unprocessed, so
    /// a large run's rows stay the size of a status.
    Unprocessed { step: Step, result: Arc<Reason> },
}

impl Outcome {
    /// What a member's status means: monitored or invited needs no one; any other status past
    /// `Created` is a member nobody monitors, and someone has to act.
    pub fn of_member(status: MemberStatus) -> Outcome {
        if status.is_settled() {
            Outcome::AlreadyMember { status }
        } else {
            Outcome::NeedsAction { status }
        }
    }

    /// Whether a person has to look at it: not processed, a member that is not monitored, or
    /// one the organisation no longer backs.
    pub fn needs_attention(&self) -> bool {
        matches!(
            self,
            Outcome::NeedsAction { .. } | Outcome::Unprocessed { .. } | Outcome::Departed { .. }
        )
    }
}

/// One account's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountOutcome {
    /// The account id as given (it may be invalid at the validate step).
    pub account_id: Shared,
    /// The account's name in Organizations, where it was looked up. The account's owner chooses
    /// it: untrusted text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_name: Option<Shared>,
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl AccountOutcome {
    pub fn unprocessed(account_id: impl Into<Shared>, step: Step, result: Reason) -> Self {
        AccountOutcome {
            account_id: account_id.into(),
            account_name: None,
            outcome: Outcome::Unprocessed {
                step,
                result: Arc::new(result),
            },
        }
    }
}

/// Reasons, each distinct one stored once: a failure that refuses many accounts (a quota, a
/// call that failed for a whole batch) gives every row the same text, and a sweep of a large
/// organisation can have hundreds of thousands of such rows. Rows hold a pointer to the one copy.
#[derive(Debug, Default)]
pub struct Reasons(Mutex<HashMap<Reason, Arc<Reason>>>);

impl Reasons {
    /// The shared copy of `reason`: the one already held when an equal reason was shared before.
    pub fn share(&self, reason: Reason) -> Arc<Reason> {
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(shared) = held.get(&reason) {
            return shared.clone();
        }
        let shared = Arc::new(reason.clone());
        held.insert(reason, shared.clone());
        shared
    }
}

/// A region where a service could not be used at all: reported once, not once per account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct RegionProblem {
    pub step: Step,
    /// Why the region was skipped: the service's error, or what was missing.
    pub reason: Reason,
    /// How many accounts were not onboarded there because of it.
    pub accounts: usize,
}

/// Every account's outcome for one service in one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionOutcome {
    pub service: Service,
    pub region: String,
    /// The GuardDuty detector used, once it is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detector_id: Option<String>,
    /// Whether this account is the organisation's delegated administrator there, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub administration: Option<Administration>,
    /// The organisation's auto-enable setting, where this account is the delegated administrator
    /// and the service said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_enable: Option<AutoEnable>,
    /// Set when the region could not be used: then `accounts` is empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<RegionProblem>,
    pub accounts: Vec<AccountOutcome>,
}

/// An account a sweep left alone because Organizations does not list it as `ACTIVE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inactive {
    pub account_id: String,
    /// Its `State` in Organizations (`SUSPENDED`, `PENDING_CLOSURE`, `CLOSED`, …).
    pub state: String,
}

/// A region `REGIONS=all-enabled` left out because it is not enabled for this account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionNotEnabled {
    pub region: String,
    /// Its opt-in status from `account:ListRegions` (`DISABLED`, `ENABLING`, …).
    pub status: String,
}

/// Counts of outcomes, over every service and region.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Distinct valid accounts the run worked on.
    pub accounts: usize,
    /// Distinct regions.
    pub regions: usize,
    pub invited: usize,
    /// Associated through the organisation by `CreateMembers`.
    pub enabled_by_organization: usize,
    /// Invitations accepted in the member account.
    pub accepted: usize,
    pub already_member: usize,
    /// Members that are not monitored and need someone to act.
    pub needs_action: usize,
    /// A dry run's rows with something to do.
    pub would_do: usize,
    /// Unprocessed rows: one per account, service and region, plus one per account stopped
    /// before any region.
    pub unprocessed: usize,
    /// Service-regions that could not be used at all, each reported once.
    pub regions_unusable: usize,
    /// A sweep's members whose accounts the organisation no longer backs, left in place.
    pub departed: usize,
    /// Such members disassociated and deleted (`REMOVE_DEPARTED_MEMBERS`).
    pub removed: usize,
}

/// The outcome of a whole run: what the response carries and the report renders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub trigger: String,
    pub event_id: Option<String>,
    /// A dry run: only reads were made.
    pub dry_run: bool,
    /// Distinct valid accounts that went to the regions.
    pub accounts: usize,
    /// Accounts stopped before any region (validate and lookup steps).
    pub not_attempted: Vec<AccountOutcome>,
    pub regions: Vec<RegionOutcome>,
    /// A sweep's accounts that are not `ACTIVE`, left alone.
    pub inactive: Vec<Inactive>,
    /// Regions `all-enabled` left out.
    pub regions_not_enabled: Vec<RegionNotEnabled>,
    /// With a member role: what accepting switches on in a member account where the service is
    /// off (the member settings, described).
    pub member_settings: Option<String>,
}

impl Summary {
    pub fn counts(&self) -> Counts {
        let mut regions: Vec<&str> = self.regions.iter().map(|r| r.region.as_str()).collect();
        regions.sort_unstable();
        regions.dedup();
        let mut counts = Counts {
            accounts: self.accounts,
            regions: regions.len(),
            unprocessed: self.not_attempted.len(),
            ..Counts::default()
        };
        for region in &self.regions {
            counts.add_region(region);
        }
        counts
    }
}

impl Counts {
    /// The counts of one service-region's rows.
    pub fn of_region(region: &RegionOutcome) -> Counts {
        let mut counts = Counts {
            accounts: region.accounts.len(),
            regions: 1,
            ..Counts::default()
        };
        counts.add_region(region);
        counts
    }

    /// Adds one service-region's rows, and the region when it could not be used.
    pub fn add_region(&mut self, region: &RegionOutcome) {
        if region.problem.is_some() {
            self.regions_unusable += 1;
        }
        for row in &region.accounts {
            self.tally(&row.outcome);
        }
    }

    /// Counts one outcome.
    pub fn tally(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Invited => self.invited += 1,
            Outcome::EnabledByOrganization => self.enabled_by_organization += 1,
            Outcome::Accepted { .. } => self.accepted += 1,
            Outcome::AlreadyMember { .. } => self.already_member += 1,
            Outcome::NeedsAction { .. } => self.needs_action += 1,
            Outcome::WouldDo { .. } => self.would_do += 1,
            Outcome::Unprocessed { .. } => self.unprocessed += 1,
            Outcome::Departed { .. } => self.departed += 1,
            Outcome::Removed { .. } => self.removed += 1,
        }
    }

    /// What a person has to look at: unprocessed rows, members that are not monitored or that
    /// the organisation no longer backs, and service-regions that could not be used.
    pub fn attention(&self) -> usize {
        self.unprocessed + self.needs_action + self.departed + self.regions_unusable
    }

    /// Rows where the run changed something: a member invited, enabled through the
    /// organisation, an invitation accepted, or a departed member removed.
    pub fn changed(&self) -> usize {
        self.invited + self.enabled_by_organization + self.accepted + self.removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_invited_and_enabled_members_need_no_one() {
        for status in ["Enabled", "Invited", "enabled", "ENABLED"] {
            assert!(
                !Outcome::of_member(MemberStatus::parse(status)).needs_attention(),
                "{status}"
            );
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
                Outcome::of_member(MemberStatus::parse(status)),
                Outcome::NeedsAction {
                    status: status.into()
                }
            );
        }
    }

    #[test]
    fn an_outcome_stays_the_size_of_a_status() {
        // A sweep holds one per account, service and region: 1.7 million at GuardDuty's
        // largest organisation. A reason is boxed so that it does not set every row's size.
        assert!(
            std::mem::size_of::<Outcome>() <= 32,
            "{}",
            std::mem::size_of::<Outcome>()
        );
    }

    #[test]
    fn known_statuses_are_named_and_unknown_ones_kept_verbatim() {
        assert_eq!(MemberStatus::parse("ENABLED"), MemberStatus::Enabled);
        assert_eq!(MemberStatus::parse("Enabled").to_string(), "Enabled");
        let new = MemberStatus::parse("PendingSomething");
        assert_eq!(new, MemberStatus::Other("PendingSomething".into()));
        assert_eq!(serde_json::to_string(&new).unwrap(), "\"PendingSomething\"");
    }

    #[test]
    fn a_row_is_small() {
        // A sweep of 50,000 accounts in 17 regions with both services holds 1.7 million rows:
        // each byte of a row is 1.7 MB of the function's memory.
        eprintln!(
            "row {} bytes, outcome {}, status {}",
            std::mem::size_of::<AccountOutcome>(),
            std::mem::size_of::<Outcome>(),
            std::mem::size_of::<MemberStatus>()
        );
        assert!(std::mem::size_of::<AccountOutcome>() <= 40);
    }
}

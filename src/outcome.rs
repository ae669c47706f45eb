//! What happened to each account: the outcomes the handler returns and the report renders.

use serde::Serialize;

use crate::service::{Administration, Service};

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
}

impl Plan {
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Create => "create",
            Plan::Invite => "invite",
            Plan::Accept => "accept",
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
    /// member is `Enabled`.
    Accepted,
    /// Already a member, monitored or with its invitation pending: not invited again.
    /// `status` is its relationship status.
    AlreadyMember { status: String },
    /// A member that is not monitored (it resigned, was removed or disabled, or its email
    /// failed verification): someone has to act. Never invited again by the function.
    NeedsAction { status: String },
    /// A dry run: what would be done. `status` is the member's status, where it is one.
    WouldDo {
        plan: Plan,
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<String>,
        accept: bool,
    },
    /// Not processed: the step, and the service's result or error verbatim.
    Unprocessed { step: Step, result: String },
}

impl Outcome {
    /// Whether a person has to look at it: not processed, or a member that is not monitored.
    pub fn needs_attention(&self) -> bool {
        matches!(
            self,
            Outcome::NeedsAction { .. } | Outcome::Unprocessed { .. }
        )
    }
}

/// One account's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountOutcome {
    /// The account id as given (it may be invalid at the validate step).
    pub account_id: String,
    /// The account's name in Organizations, where it was looked up. The account's owner chooses
    /// it: untrusted text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl AccountOutcome {
    pub fn unprocessed(
        account_id: impl Into<String>,
        step: Step,
        result: impl Into<String>,
    ) -> Self {
        AccountOutcome {
            account_id: account_id.into(),
            account_name: None,
            outcome: Outcome::Unprocessed {
                step,
                result: result.into(),
            },
        }
    }
}

/// A region where a service could not be used at all: reported once, not once per account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct RegionProblem {
    pub step: Step,
    /// The service's error verbatim, or why the region was skipped.
    pub reason: String,
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

    fn add_region(&mut self, region: &RegionOutcome) {
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
            Outcome::Accepted => self.accepted += 1,
            Outcome::AlreadyMember { .. } => self.already_member += 1,
            Outcome::NeedsAction { .. } => self.needs_action += 1,
            Outcome::WouldDo { .. } => self.would_do += 1,
            Outcome::Unprocessed { .. } => self.unprocessed += 1,
        }
    }

    /// What a person has to look at: unprocessed rows, members that are not monitored, and
    /// service-regions that could not be used.
    pub fn attention(&self) -> usize {
        self.unprocessed + self.needs_action + self.regions_unusable
    }
}

//! What happened to each account: the outcomes the handler returns and the report renders.

use serde::Serialize;

use crate::guardduty::Administration;

/// The step at which an account was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// The event entry is not a valid account, a duplicate, or the function's own account.
    Validate,
    /// Organizations `DescribeAccount` did not give the account's email.
    Lookup,
    /// The region's GuardDuty detector could not be found.
    Detector,
    /// GuardDuty `GetMembers`, which tells whether the account is already a member.
    Check,
    /// GuardDuty `CreateMembers`.
    Create,
    /// GuardDuty `InviteMembers`.
    Invite,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Validate => "validate",
            Step::Lookup => "lookup",
            Step::Detector => "detector",
            Step::Check => "check",
            Step::Create => "create",
            Step::Invite => "invite",
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
    /// Already a member, monitored or with its invitation pending: not invited again.
    /// `status` is its relationship status.
    AlreadyMember { status: String },
    /// A member that is not monitored (it resigned, was removed or disabled, or its email
    /// failed verification): someone has to act. Never invited again by the function.
    NeedsAction { status: String },
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

/// Every account's outcome in one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionOutcome {
    pub region: String,
    /// The detector used, once it is known.
    pub detector_id: Option<String>,
    /// Whether this account is the organisation's delegated administrator there, once known.
    pub administration: Option<Administration>,
    pub accounts: Vec<AccountOutcome>,
}

/// Counts of outcomes, over every region.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Distinct valid accounts the run worked on.
    pub accounts: usize,
    pub regions: usize,
    pub invited: usize,
    /// Associated through the organisation by `CreateMembers`.
    pub enabled_by_organization: usize,
    pub already_member: usize,
    /// Members that are not monitored and need someone to act.
    pub needs_action: usize,
    /// Unprocessed rows: one per account and region, plus one per account stopped before any region.
    pub unprocessed: usize,
}

/// The outcome of a whole run: what the response carries and the report renders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub trigger: String,
    pub event_id: Option<String>,
    /// Accounts stopped before any region (validate and lookup steps).
    pub not_attempted: Vec<AccountOutcome>,
    pub regions: Vec<RegionOutcome>,
}

impl Summary {
    pub fn counts(&self) -> Counts {
        let mut counts = Counts {
            regions: self.regions.len(),
            unprocessed: self.not_attempted.len(),
            accounts: self.regions.first().map_or(0, |r| r.accounts.len()),
            ..Counts::default()
        };
        for row in self.regions.iter().flat_map(|r| &r.accounts) {
            counts.tally(&row.outcome);
        }
        counts
    }
}

impl Counts {
    /// The counts of one region's rows.
    pub fn of_region(region: &RegionOutcome) -> Counts {
        let mut counts = Counts {
            accounts: region.accounts.len(),
            regions: 1,
            ..Counts::default()
        };
        for row in &region.accounts {
            counts.tally(&row.outcome);
        }
        counts
    }

    /// Counts one outcome.
    pub fn tally(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Invited => self.invited += 1,
            Outcome::EnabledByOrganization => self.enabled_by_organization += 1,
            Outcome::AlreadyMember { .. } => self.already_member += 1,
            Outcome::NeedsAction { .. } => self.needs_action += 1,
            Outcome::Unprocessed { .. } => self.unprocessed += 1,
        }
    }

    /// Rows a person has to look at: unprocessed, or members that are not monitored.
    pub fn attention(&self) -> usize {
        self.unprocessed + self.needs_action
    }
}

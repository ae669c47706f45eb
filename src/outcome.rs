//! What happened to each account: the outcomes the handler returns and the report renders.

use serde::Serialize;

/// The step at which an account was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// `CreateMembers` (now or in an earlier run) and `InviteMembers` accepted it.
    Invited,
    /// Already a member past `Created`: not invited again. `status` is its relationship status.
    AlreadyMember { status: String },
    /// Not processed: the step, and the service's result or error verbatim.
    Unprocessed { step: Step, result: String },
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
    pub accounts: Vec<AccountOutcome>,
}

/// Counts of outcomes, over every region.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Distinct valid accounts the run worked on.
    pub accounts: usize,
    pub regions: usize,
    pub invited: usize,
    pub already_member: usize,
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
        for outcome in self.regions.iter().flat_map(|r| &r.accounts) {
            match outcome.outcome {
                Outcome::Invited => counts.invited += 1,
                Outcome::AlreadyMember { .. } => counts.already_member += 1,
                Outcome::Unprocessed { .. } => counts.unprocessed += 1,
            }
        }
        counts
    }
}

//! The report's rows, listed once per rendering: a run's [`Summary`] flattened to one row per
//! account, service and region (accounts stopped before any region have one row, region `all`),
//! each classified for the glance view and given its suggested action by its service. Every view
//! (attention, glance, CSV, the response) renders from one [`Table`].

use std::borrow::Cow;

use crate::advice;
use crate::outcome::{AccountOutcome, MemberStatus, Outcome, RegionOutcome, Service, Summary};
use crate::service;

/// What a row means at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Monitored: enabled through the organisation, accepted, or already `Enabled`.
    Enabled,
    /// Invited now or earlier; monitored once the member accepts.
    Invited,
    /// A dry run: something would be done.
    WouldDo,
    /// A member that is not monitored: someone has to act.
    NeedsAction,
    /// Not processed.
    Unprocessed,
    /// A member the organisation no longer backs: someone has to act.
    Departed,
    /// Such a member, removed.
    Removed,
    /// The service-region could not be used at all.
    Skipped,
}

impl Kind {
    /// The symbol in the glance view: one character that reads in plain text.
    pub fn symbol(self) -> char {
        match self {
            Kind::Enabled => 'E',
            Kind::Invited => 'I',
            Kind::WouldDo => '?',
            Kind::NeedsAction => '!',
            Kind::Unprocessed => 'X',
            Kind::Departed => 'D',
            Kind::Removed => 'R',
            Kind::Skipped => '-',
        }
    }

    /// What the symbol means, for the legend.
    pub fn meaning(self) -> &'static str {
        match self {
            Kind::Enabled => "enabled (monitored)",
            Kind::Invited => "invited (monitored once accepted)",
            Kind::WouldDo => "dry run: would be onboarded",
            Kind::NeedsAction => "member needs action",
            Kind::Unprocessed => "not processed",
            Kind::Departed => "member the organisation no longer backs",
            Kind::Removed => "departed member removed",
            Kind::Skipped => "region skipped",
        }
    }

    /// The glance cell's colours in HTML: background, then text.
    pub fn colours(self) -> (&'static str, &'static str) {
        match self {
            Kind::Enabled => ("#c8e6c9", "#1b5e20"),
            Kind::Invited => ("#bbdefb", "#0d47a1"),
            Kind::WouldDo => ("#e1bee7", "#4a148c"),
            Kind::NeedsAction => ("#ffe0b2", "#e65100"),
            Kind::Unprocessed => ("#ffcdd2", "#b71c1c"),
            Kind::Departed => ("#fff9c4", "#f57f17"),
            Kind::Removed => ("#d7ccc8", "#3e2723"),
            Kind::Skipped => ("#e0e0e0", "#424242"),
        }
    }

    /// Done, as far as the function can take it: nothing for a person to look at.
    pub fn is_done(self) -> bool {
        matches!(self, Kind::Enabled | Kind::Invited | Kind::Removed)
    }

    pub const ALL: [Kind; 8] = [
        Kind::Enabled,
        Kind::Invited,
        Kind::WouldDo,
        Kind::NeedsAction,
        Kind::Unprocessed,
        Kind::Departed,
        Kind::Removed,
        Kind::Skipped,
    ];
}

/// Every row of a run, read from the summary as a view asks: nothing is copied, so a sweep of a
/// large organisation (1.7 million rows) costs the report no second list of them.
#[derive(Debug, Clone, Copy)]
pub struct Table<'a> {
    pub summary: &'a Summary,
}

/// Where a row is: `(0, i)` the `i`th account stopped before any region; `(r + 1, i)` the `i`th
/// account of the `r`th service-region.
pub type Place = (u32, u32);

impl<'a> Table<'a> {
    pub fn new(summary: &'a Summary) -> Table<'a> {
        Table { summary }
    }

    /// Every row, before any region first, then each service-region's in order.
    pub fn iter(&self) -> impl Iterator<Item = Row<'a>> + use<'a> {
        self.places().map(|(_, row)| row)
    }

    /// Every row with its place, in the order of [`Table::iter`].
    pub fn places(&self) -> impl Iterator<Item = (Place, Row<'a>)> + use<'a> {
        let summary = self.summary;
        let before = summary
            .not_attempted
            .iter()
            .enumerate()
            .map(|(i, account)| ((0, i as u32), Row::new(account, None)));
        let regions = summary.regions.iter().enumerate().flat_map(|(r, region)| {
            region.accounts.iter().enumerate().map(move |(i, account)| {
                ((r as u32 + 1, i as u32), Row::new(account, Some(region)))
            })
        });
        before.chain(regions)
    }

    /// The row at `place`, one [`Table::places`] gave.
    pub fn at(&self, (section, i): Place) -> Row<'a> {
        let summary = self.summary;
        match section.checked_sub(1) {
            None => Row::new(&summary.not_attempted[i as usize], None),
            Some(r) => {
                let region = &summary.regions[r as usize];
                Row::new(&region.accounts[i as usize], Some(region))
            }
        }
    }
}

/// One account in one service-region, or before any region: two references, so that the table
/// of a large run costs 16 bytes a row beside the outcomes it points into (a sweep of 10,000
/// accounts in 17 regions: 2.7 MB). What a row means is read from its outcome when a view asks.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    pub account: &'a AccountOutcome,
    /// The service-region; `None` before any region.
    within: Option<&'a RegionOutcome>,
}

impl<'a> Row<'a> {
    fn new(account: &'a AccountOutcome, within: Option<&'a RegionOutcome>) -> Row<'a> {
        Row { account, within }
    }

    /// `None` before any region.
    pub fn service(&self) -> Option<Service> {
        self.within.map(|r| r.service)
    }

    /// `all` before any region.
    pub fn region(&self) -> &'a str {
        self.within.map_or("all", |r| r.region.as_str())
    }

    pub fn outcome(&self) -> &'a Outcome {
        &self.account.outcome
    }

    pub fn kind(&self) -> Kind {
        kind(self.outcome())
    }

    /// The outcome's name in the CSV and the text lines.
    pub fn label(&self) -> &'static str {
        match self.outcome() {
            Outcome::Invited => "INVITED",
            Outcome::EnabledByOrganization | Outcome::Accepted { .. } => "ENABLED",
            Outcome::AlreadyMember { .. } => "MEMBER",
            Outcome::NeedsAction { .. } => "NEEDS_ACTION",
            Outcome::WouldDo { .. } => "WOULD",
            Outcome::Unprocessed { .. } => "UNPROCESSED",
            Outcome::Departed { .. } => "DEPARTED",
            Outcome::Removed { .. } => "REMOVED",
        }
    }

    /// How it was enabled, where that is the point.
    pub fn via(&self) -> Option<&'static str> {
        match self.outcome() {
            Outcome::EnabledByOrganization => Some("organization"),
            Outcome::Accepted { switched_on: false } => Some("member-role"),
            // What the member settings switched on is named once, in the report's summary.
            Outcome::Accepted { switched_on: true } => Some("member-role, switched on there"),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<&'a str> {
        match self.outcome() {
            Outcome::AlreadyMember { status }
            | Outcome::NeedsAction { status }
            | Outcome::Departed { status, .. } => Some(status.as_str()),
            Outcome::WouldDo { status, .. } => status.as_ref().map(MemberStatus::as_str),
            _ => None,
        }
    }

    pub fn step(&self) -> Option<&'static str> {
        match self.outcome() {
            Outcome::Unprocessed { step, .. } => Some(step.as_str()),
            Outcome::WouldDo { plan, .. } => Some(plan.as_str()),
            _ => None,
        }
    }

    /// The service's result verbatim, or why the account was not processed; for a dry run,
    /// what would be done and why.
    pub fn result(&self) -> Option<Cow<'a, str>> {
        match self.outcome() {
            Outcome::Unprocessed { result, .. } => Some(result.text()),
            Outcome::WouldDo { plan, accept, .. } => Some(Cow::Borrowed(plan.explain(*accept))),
            Outcome::Departed { standing, .. } | Outcome::Removed { standing } => {
                Some(Cow::Borrowed(standing.describe()))
            }
            _ => None,
        }
    }

    /// What to do: the service's words where there is a service, else the common ones.
    pub fn action(&self) -> Option<&'static str> {
        action(self.outcome(), self.service())
    }
}

fn action(outcome: &Outcome, service: Option<Service>) -> Option<&'static str> {
    match (outcome, service) {
        (Outcome::Unprocessed { step, result }, Some(service)) => {
            service::result_action(service, *step, result)
        }
        (Outcome::Unprocessed { step, result }, None) => advice::result_action(*step, result),
        (Outcome::NeedsAction { status }, Some(service)) => Some(
            service::status_action(service, status)
                .unwrap_or_else(|| service::unknown_status_action(service)),
        ),
        (Outcome::AlreadyMember { status }, Some(service)) => {
            service::status_action(service, status)
        }
        (Outcome::Departed { .. }, Some(service)) => Some(service::departed_action(service)),
        _ => None,
    }
}

/// What an outcome means at a glance.
pub fn kind(outcome: &Outcome) -> Kind {
    match outcome {
        Outcome::EnabledByOrganization | Outcome::Accepted { .. } => Kind::Enabled,
        Outcome::AlreadyMember {
            status: MemberStatus::Enabled,
        } => Kind::Enabled,
        Outcome::AlreadyMember { .. } | Outcome::Invited => Kind::Invited,
        Outcome::WouldDo { .. } => Kind::WouldDo,
        Outcome::NeedsAction { .. } => Kind::NeedsAction,
        Outcome::Unprocessed { .. } => Kind::Unprocessed,
        Outcome::Departed { .. } => Kind::Departed,
        Outcome::Removed { .. } => Kind::Removed,
    }
}

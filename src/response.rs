//! The handler's JSON answer, bounded for Lambda's 6 MB response limit: the counts, each
//! region's counts, every row that needs a person (grouped by region, step or status, and
//! result), and whether the report went out. Successes are counted, not listed: the email and,
//! when it could not be sent, the function's log carry every row.

use serde::Serialize;

use crate::outcome::{Administration, AutoEnable, Service};
use crate::outcome::{Counts, Inactive, Outcome, RegionNotEnabled, RegionProblem, Step, Summary};
use crate::report::rows::{Row, Table};
use crate::service;

/// The most bytes the attention groups may take in a response: a third of Lambda's 6 MB.
pub const ATTENTION_BUDGET: usize = 2_000_000;

/// Whether the report went out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub sent: bool,
    /// SES's message id, when sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Why it was not sent, when not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Delivery {
    pub fn skipped(reason: &str) -> Delivery {
        Delivery {
            sent: false,
            message_id: None,
            reason: Some(reason.to_owned()),
        }
    }
}

/// One service-region's counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionCounts {
    pub service: Service,
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detector_id: Option<String>,
    pub administration: Option<Administration>,
    /// The organisation's auto-enable setting, where this account is the delegated administrator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_enable: Option<AutoEnable>,
    /// Why the service-region could not be used, with what to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<RegionProblem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'static str>,
    #[serde(flatten)]
    pub counts: Counts,
}

/// Accounts that need a person for the same reason in the same service and region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttentionGroup {
    /// The service; none for accounts stopped before any region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<Service>,
    /// The region, or `all` for accounts stopped before any region.
    pub region: String,
    /// `needs_action`, `unprocessed`, or for a dry run `would_do`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<Step>,
    /// The member's relationship status, for `needs_action`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The service's result verbatim, for `unprocessed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'static str>,
    pub accounts: Vec<String>,
}

/// The handler's JSON answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Response {
    pub trigger: String,
    pub event_id: Option<String>,
    /// Why nothing was done, for an event that needs no onboarding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
    /// Only reads were made.
    pub dry_run: bool,
    pub counts: Counts,
    pub regions: Vec<RegionCounts>,
    /// Every row that needs a person, grouped; see [`Response::attention_omitted`].
    pub attention: Vec<AttentionGroup>,
    /// Rows left out of `attention` to keep the response under its size bound (0 almost
    /// always): the report and the log have them.
    pub attention_omitted: usize,
    /// A sweep's accounts that are not `ACTIVE`, left alone.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inactive: Vec<Inactive>,
    /// Regions `all-enabled` left out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub regions_not_enabled: Vec<RegionNotEnabled>,
    /// For a dry run, every row with something to do, grouped like `attention`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_do: Vec<AttentionGroup>,
    pub report: Delivery,
}

impl Response {
    /// The answer for an event that needs no onboarding.
    pub fn ignored(trigger: String, event_id: Option<String>, reason: String) -> Response {
        Response {
            trigger,
            event_id,
            ignored: Some(reason),
            dry_run: false,
            counts: Counts::default(),
            regions: Vec::new(),
            attention: Vec::new(),
            attention_omitted: 0,
            inactive: Vec::new(),
            regions_not_enabled: Vec::new(),
            would_do: Vec::new(),
            report: Delivery::skipped("the event needs no onboarding"),
        }
    }

    /// The answer for a run: its counts and its attention rows, within [`ATTENTION_BUDGET`].
    pub fn of(summary: Summary, report: Delivery) -> Response {
        let regions = summary
            .regions
            .iter()
            .map(|r| RegionCounts {
                service: r.service,
                region: r.region.clone(),
                detector_id: r.detector_id.clone(),
                administration: r.administration,
                auto_enable: r.auto_enable,
                action: r
                    .problem
                    .as_ref()
                    .and_then(|p| service::result_action(r.service, p.step, &p.reason)),
                problem: r.problem.clone(),
                counts: Counts::of_region(r),
            })
            .collect();
        let table = Table::new(&summary);
        let (attention, attention_omitted) =
            group(&table, Outcome::needs_attention, ATTENTION_BUDGET);
        let (would_do, _) = group(
            &table,
            |o| matches!(o, Outcome::WouldDo { .. }),
            ATTENTION_BUDGET,
        );
        Response {
            counts: summary.counts(),
            dry_run: summary.dry_run,
            ignored: None,
            regions,
            attention,
            attention_omitted,
            would_do,
            report,
            trigger: summary.trigger,
            event_id: summary.event_id,
            inactive: summary.inactive,
            regions_not_enabled: summary.regions_not_enabled,
        }
    }
}

/// What makes rows one group: the service, the region, the outcome.
type GroupKey<'a> = (Option<Service>, &'a str, &'a Outcome);

/// Groups the rows `wanted` picks, in the order they first appear, within `budget` bytes of
/// JSON; returns the groups and how many rows did not fit.
fn group<'a>(
    table: &Table<'a>,
    wanted: impl Fn(&Outcome) -> bool,
    budget: usize,
) -> (Vec<AttentionGroup>, usize) {
    let mut groups: Vec<AttentionGroup> = Vec::new();
    let mut index: std::collections::HashMap<GroupKey<'a>, usize> =
        std::collections::HashMap::new();
    let mut used = 2;
    let mut omitted = 0;
    for row in table.iter() {
        if !wanted(row.outcome()) {
            continue;
        }
        let id = &row.account.account_id;
        // An account id in a group's list: its quotes and a comma.
        let cost = serde_json::to_string(id).map_or(64, |s| s.len() + 1);
        let key = (row.service(), row.region(), row.outcome());
        if let Some(&i) = index.get(&key) {
            if used + cost > budget {
                omitted += 1;
                continue;
            }
            used += cost;
            groups[i].accounts.push(id.to_string());
            continue;
        }
        let Some(new) = new_group(&row) else {
            continue;
        };
        let cost = serde_json::to_string(&new).map_or(budget, |s| s.len() + 1);
        if used + cost > budget {
            omitted += 1;
            continue;
        }
        used += cost;
        index.insert(key, groups.len());
        groups.push(new);
    }
    (groups, omitted)
}

/// A group for one row, when its outcome needs attention or is a dry run's plan; its action is
/// the one the report gives the row.
fn new_group(row: &Row<'_>) -> Option<AttentionGroup> {
    let (kind, step) = match row.outcome() {
        Outcome::NeedsAction { .. } => ("needs_action", None),
        Outcome::Unprocessed { step, .. } => ("unprocessed", Some(*step)),
        Outcome::WouldDo { .. } => ("would_do", None),
        Outcome::Departed { .. } => ("departed", None),
        Outcome::Invited
        | Outcome::EnabledByOrganization
        | Outcome::Accepted { .. }
        | Outcome::AlreadyMember { .. }
        | Outcome::Removed { .. } => return None,
    };
    Some(AttentionGroup {
        service: row.service(),
        region: row.region().to_owned(),
        outcome: kind,
        step,
        status: row.status().map(str::to_owned),
        result: row.result().map(|r| r.into_owned()),
        action: row.action(),
        accounts: vec![row.account.account_id.to_string()],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws_error::{AwsError, CallError};
    use crate::outcome::{AccountOutcome, Reason, RegionOutcome};

    fn summary(
        accounts: usize,
        regions: usize,
        every: impl Fn(usize, usize) -> Outcome,
    ) -> Summary {
        Summary {
            trigger: "manual invoke".into(),
            event_id: None,
            dry_run: false,
            accounts,
            inactive: Vec::new(),
            regions_not_enabled: Vec::new(),
            member_settings: None,
            not_attempted: vec![AccountOutcome::unprocessed(
                "12345",
                Step::Validate,
                Reason::Invalid("the account id must be exactly 12 digits".into()),
            )],
            regions: (0..regions)
                .map(|r| RegionOutcome {
                    service: Service::GuardDuty,
                    region: format!("region-{r}"),
                    detector_id: Some(format!("d{r}")),
                    administration: Some(Administration::Invitation),
                    auto_enable: None,
                    problem: None,
                    accounts: (0..accounts)
                        .map(|a| AccountOutcome {
                            account_id: format!("{:012}", 200_000_000_000usize + a).into(),
                            account_name: Some("a name".into()),
                            outcome: every(a, r),
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    fn size(response: &Response) -> usize {
        serde_json::to_string(response).unwrap().len()
    }

    #[test]
    fn successes_are_counted_and_attention_rows_grouped() {
        let s = summary(4, 2, |a, r| match (a, r) {
            (0, _) => Outcome::Invited,
            (1, 0) => Outcome::NeedsAction {
                status: "Resigned".into(),
            },
            (1, 1) => Outcome::EnabledByOrganization,
            _ => Outcome::Unprocessed {
                step: Step::Invite,
                result: std::sync::Arc::new(Reason::call(
                    "InviteMembers",
                    CallError::Failed(AwsError::service(
                        "ThrottlingException",
                        Some("Rate exceeded"),
                    )),
                )),
            },
        });
        let response = Response::of(s, Delivery::skipped("test"));
        assert_eq!(response.counts.invited, 2);
        assert_eq!(response.counts.needs_action, 1);
        assert_eq!(response.counts.enabled_by_organization, 1);
        assert_eq!(response.counts.unprocessed, 5);
        assert_eq!(response.regions[0].counts.needs_action, 1);
        assert_eq!(response.regions[1].counts.enabled_by_organization, 1);
        let groups: Vec<(&str, &str, usize)> = response
            .attention
            .iter()
            .map(|g| (g.region.as_str(), g.outcome, g.accounts.len()))
            .collect();
        assert_eq!(
            groups,
            [
                ("all", "unprocessed", 1),
                ("region-0", "needs_action", 1),
                ("region-0", "unprocessed", 2),
                ("region-1", "unprocessed", 2),
            ]
        );
        assert!(response.attention[1].action.is_some());
        assert!(response.attention[2].action.unwrap().contains("throttled"));
        assert_eq!(response.attention_omitted, 0);
    }

    #[test]
    fn five_thousand_accounts_in_seventeen_regions_stay_well_under_six_mb() {
        // Everything failed, one shared result per region: every row is listed.
        let hung = Response::of(
            summary(5_000, 17, |_, _| Outcome::Unprocessed {
                step: Step::Check,
                result: std::sync::Arc::new(Reason::call("GetMembers", CallError::CutOff)),
            }),
            Delivery::skipped("test"),
        );
        assert_eq!(hung.attention_omitted, 0);
        let listed: usize = hung.attention.iter().map(|g| g.accounts.len()).sum();
        assert_eq!(listed, 5_000 * 17 + 1);
        assert!(size(&hung) < 3_000_000, "{}", size(&hung));
        // Every row with its own result: bounded, and the rest counted.
        let unique = Response::of(
            summary(5_000, 17, |a, r| Outcome::Unprocessed {
                step: Step::Create,
                result: std::sync::Arc::new(
                    format!(
                        "a result of {a} in {r} that is long enough to add up: {}",
                        "x".repeat(100)
                    )
                    .into(),
                ),
            }),
            Delivery::skipped("test"),
        );
        let listed: usize = unique.attention.iter().map(|g| g.accounts.len()).sum();
        assert!(unique.attention_omitted > 0);
        assert_eq!(listed + unique.attention_omitted, 5_000 * 17 + 1);
        assert!(size(&unique) < 3_000_000, "{}", size(&unique));
        // All invited: a few hundred bytes.
        let fine = Response::of(
            summary(5_000, 17, |_, _| Outcome::Invited),
            Delivery::skipped("t"),
        );
        assert!(size(&fine) < 8_000, "a few kilobytes: {}", size(&fine));
    }
}

//! Members the organisation no longer backs, in one service-region: a sweep's (its listed
//! members that are not among the organisation's `ACTIVE` accounts, [`unbacked`]) and those of
//! accounts an `AccountDepartedOrganization` event names ([`departures`]). Each is a row with its
//! status and where its account stands; nothing is changed unless `REMOVE_DEPARTED_MEMBERS` asks
//! to disassociate and delete them ([`departed_rows`]), and a dry run says what it would remove.

use std::collections::HashMap;

use tracing::{info, warn};

use super::{Backing, skip, unstarted};
use crate::account::AccountNumber;
use crate::config::Region;
use crate::limits::Deadline;
use crate::outcome::{
    AccountOutcome, MemberStatus, Outcome, Plan, Reason, Reasons, RegionOutcome, Standing, Step,
};
use crate::service::{MAX_BATCH, MemberService, Statuses, Unusable};
use crate::text::redact_emails;

/// The memberships, in one service-region, of accounts that left the organisation (named by
/// `AccountDepartedOrganization`): each account that is still a member there is a row, reported
/// (or, with `remove`, removed) as a sweep reports a member the organisation no longer backs; an
/// account that is no member there has no row. A region that refuses the check is reported once.
pub async fn departures(
    service: &mut MemberService<'_>,
    deadline: Deadline,
    dry_run: bool,
    remove: bool,
    ids: &[AccountNumber],
) -> RegionOutcome {
    let region = service.region().clone();
    let mut outcome = unstarted(service);
    match service.prepare(deadline).await {
        Ok(administration) => outcome.administration = Some(administration),
        Err(problem) => {
            skip(&mut outcome, problem, ids.len());
            return outcome;
        }
    }
    outcome.detector_id = service.detector_id().map(str::to_owned);
    let texts: Vec<String> = ids.iter().map(AccountNumber::to_string).collect();
    let mut members = Statuses::new();
    for batch in texts.chunks(MAX_BATCH) {
        let batch: Vec<&str> = batch.iter().map(String::as_str).collect();
        match service.statuses(deadline, &batch).await {
            Ok(found) => members.extend(found),
            Err(error) => {
                let problem = Unusable {
                    step: Step::Check,
                    reason: Reason::call("GetMembers", error),
                };
                skip(&mut outcome, problem, ids.len());
                return outcome;
            }
        }
    }
    // Every member named left the organisation.
    let mut departed: Vec<_> = members
        .into_iter()
        .map(|(number, status)| (number, status, Standing::Absent))
        .collect();
    departed.sort_by_key(|(number, _, _)| *number);
    outcome.accounts = departed_rows(
        service,
        &region,
        deadline,
        dry_run,
        remove,
        &Reasons::default(),
        departed,
    )
    .await;
    outcome
}

/// The rows of a region's departed members: reported, what a dry run would do, or (`remove`)
/// removed.
pub(super) async fn departed_rows(
    service: &MemberService<'_>,
    region: &Region,
    deadline: Deadline,
    dry_run: bool,
    remove: bool,
    reasons: &Reasons,
    departed: Vec<(AccountNumber, MemberStatus, Standing)>,
) -> Vec<AccountOutcome> {
    if remove && !dry_run {
        return removed(service, region, deadline, reasons, departed).await;
    }
    departed
        .into_iter()
        .map(|(number, status, standing)| {
            let outcome = if remove {
                Outcome::WouldDo {
                    plan: Plan::Remove,
                    status: Some(status),
                    accept: false,
                }
            } else {
                warn!(account_id = %number, service = service.service().name(), region = %region, status = %status, standing = standing.describe(), "a member the organisation no longer backs");
                Outcome::Departed { status, standing }
            };
            departed_row(number, outcome)
        })
        .collect()
}

/// A region's members that the organisation no longer backs: listed, but not among the
/// accounts the sweep onboards ([`Backing::active`]), in account order, each with
/// its status and where it stands in the organisation.
pub(super) fn unbacked(
    listed: &Statuses,
    backing: &Backing,
) -> Vec<(AccountNumber, MemberStatus, Standing)> {
    let mut departed: Vec<_> = listed
        .iter()
        .filter(|(number, _)| !backing.active.contains(number))
        .map(|(number, status)| {
            (
                *number,
                status.clone(),
                backing
                    .inactive
                    .get(number)
                    .copied()
                    .unwrap_or(Standing::Absent),
            )
        })
        .collect();
    departed.sort_by_key(|(number, _, _)| *number);
    departed
}

fn departed_row(number: AccountNumber, outcome: Outcome) -> AccountOutcome {
    AccountOutcome {
        account_id: number.to_string().into(),
        account_name: None,
        outcome,
    }
}

/// Disassociates, then deletes, the departed members, 50 at a time: each row `Removed`, or
/// unprocessed at the step that refused it with the service's words.
async fn removed(
    service: &MemberService<'_>,
    region: &Region,
    deadline: Deadline,
    reasons: &Reasons,
    departed: Vec<(AccountNumber, MemberStatus, Standing)>,
) -> Vec<AccountOutcome> {
    let mut rows = Vec::with_capacity(departed.len());
    for batch in departed.chunks(MAX_BATCH) {
        let ids: Vec<String> = batch.iter().map(|(n, _, _)| n.to_string()).collect();
        let mut left: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut outcomes: HashMap<&str, Outcome> = HashMap::new();
        for (step, operation) in [
            (Step::Disassociate, "DisassociateMembers"),
            (Step::Delete, "DeleteMembers"),
        ] {
            if left.is_empty() {
                break;
            }
            let answer = match step {
                Step::Disassociate => service.disassociate(deadline, &left).await,
                _ => service.delete(deadline, &left).await,
            };
            match answer {
                Ok(refused) => {
                    for refusal in refused {
                        match left.iter().find(|id| **id == refusal.account_id) {
                            Some(id) => {
                                let result = reasons.share(Reason::Result(refusal.result));
                                outcomes.insert(id, Outcome::Unprocessed { step, result });
                            }
                            // Not an account of the call: nothing of ours to mark, but said.
                            None => {
                                warn!(account_id = %refusal.account_id, service = service.service().name(), region = %region, step = step.as_str(), result = %redact_emails(&refusal.result), "unprocessed entry for an account not in the call")
                            }
                        }
                    }
                }
                Err(error) => {
                    let result = reasons.share(Reason::call(operation, error));
                    for id in &left {
                        outcomes.insert(
                            id,
                            Outcome::Unprocessed {
                                step,
                                result: result.clone(),
                            },
                        );
                    }
                }
            }
            left.retain(|id| !outcomes.contains_key(id));
        }
        for (number, _, standing) in batch {
            let id = number.to_string();
            let outcome = outcomes.remove(id.as_str()).unwrap_or(Outcome::Removed {
                standing: *standing,
            });
            match &outcome {
                Outcome::Unprocessed { step, result } => {
                    warn!(account_id = %id, service = service.service().name(), region = %region, step = step.as_str(), result = %redact_emails(&result.to_string()), "unprocessed")
                }
                _ => {
                    info!(account_id = %id, service = service.service().name(), region = %region, "a member the organisation no longer backs, removed")
                }
            }
            rows.push(departed_row(*number, outcome));
        }
    }
    rows
}

//! The accept step: after the administrator has invited, the member role ([`MemberRole`]) is
//! assumed once in each invited account, and in each of that account's service-regions the
//! adapter accepts the administrator's invitation ([`MemberService::accept`]).
//!
//! A role that cannot be assumed, or a region that refuses, is a row with the reason; it never
//! fails the run.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::join_all;
use futures::stream::{self, StreamExt};
use tracing::{info, warn};

use crate::limits::Deadline;
use crate::member_role::MemberRole;
use crate::outcome::{MemberStatus, Outcome, Reason, RegionOutcome, Step};
use crate::service::MemberService;
use crate::shared::Shared;
use crate::text::redact_emails;

/// Where each candidate row is: (index of the service-region, index of the row).
type Place = (usize, usize);

/// Whose invitations are accepted, and how.
#[derive(Clone, Copy)]
pub struct Acceptance<'a> {
    pub role: &'a MemberRole,
    /// Member accounts worked on at once (`MEMBER_CONCURRENCY`); each assumes the role once
    /// and then works its service-regions together.
    pub concurrency: usize,
    /// The administrator's account (the function's own), whose invitations are accepted; `None`
    /// when it is not known, and then nothing can be accepted.
    pub administrator: Option<&'a str>,
    /// The organisation's management account, never entered: its invitations are its own to
    /// accept (the function's grant keeps it out).
    pub management: Option<&'a str>,
}

/// Whether a row's invitation is waiting to be accepted.
fn pending(outcome: &Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Invited
            | Outcome::AlreadyMember {
                status: MemberStatus::Invited
            }
    )
}

/// Accepts every pending invitation of `regions` in its member account, and records the result
/// in the rows: `Accepted`, or `Unprocessed` at the `accept` step with the reason. `services[i]`
/// is the service-region of `regions[i]`.
pub async fn accept_all(
    acceptance: Acceptance<'_>,
    services: &[MemberService<'_>],
    regions: &mut [RegionOutcome],
    deadline: Deadline,
) {
    // Each account's pending rows.
    let mut by_account: BTreeMap<Shared, Vec<Place>> = BTreeMap::new();
    for (r, region) in regions.iter().enumerate() {
        for (a, row) in region.accounts.iter().enumerate() {
            if pending(&row.outcome) {
                by_account
                    .entry(row.account_id.clone())
                    .or_default()
                    .push((r, a));
            }
        }
    }
    if by_account.is_empty() {
        return;
    }
    let Acceptance {
        role,
        concurrency,
        administrator,
        management,
    } = acceptance;
    info!(
        accounts = by_account.len(),
        role = %role.name(),
        "accepting invitations in the member accounts"
    );
    let results: Vec<Vec<(Place, Result<bool, Reason>)>> = stream::iter(by_account)
        .map(|(account, places)| async move {
            let refuse_all = |reason: Reason| -> Vec<(Place, Result<bool, Reason>)> {
                places
                    .iter()
                    .map(|place| (*place, Err(reason.clone())))
                    .collect()
            };
            let Some(administrator) = administrator else {
                return refuse_all(Reason::AdministratorUnknown);
            };
            if management == Some(account.as_str()) {
                return refuse_all(Reason::ManagementNotEntered);
            }
            let credentials = match role.assume(&account, deadline).await {
                Ok(credentials) => credentials,
                Err(reason) => {
                    warn!(account_id = %account, error = %redact_emails(&reason.to_string()), "member role not assumed");
                    return refuse_all(reason);
                }
            };
            join_all(places.iter().map(|&(r, a)| {
                let credentials = credentials.clone();
                async move {
                    let accepted = services[r]
                        .accept(credentials, administrator, deadline)
                        .await;
                    ((r, a), accepted)
                }
            }))
            .await
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    for ((r, a), result) in results.into_iter().flatten() {
        let row = &mut regions[r].accounts[a];
        let service = regions[r].service.name();
        match result {
            Ok(switched_on) => {
                info!(account_id = %row.account_id, service, region = %regions[r].region, switched_on, "invitation accepted in the member account");
                row.outcome = Outcome::Accepted { switched_on };
            }
            Err(reason) => {
                warn!(account_id = %row.account_id, service, region = %regions[r].region, error = %redact_emails(&reason.to_string()), "invitation not accepted");
                row.outcome = Outcome::Unprocessed {
                    step: Step::Accept,
                    result: Arc::new(Reason::NotAccepted(Box::new(reason))),
                };
            }
        }
    }
}

//! Accepting invitations in the member accounts, through the member role: after the
//! administrator has invited, the function assumes `MEMBER_ROLE_NAME` in each invited account
//! once, and in each region accepts the administrator's invitation there.
//!
//! - GuardDuty: the member needs a detector of its own (`CreateDetector` when it has none), then
//!   `ListInvitations` finds the administrator's invitation and `AcceptAdministratorInvitation`
//!   accepts it (not the deprecated `AcceptInvitation`).
//! - Security Hub: `EnableSecurityHub` when `DescribeHub` says it is not enabled, then the same
//!   `ListInvitations` and `AcceptAdministratorInvitation`.
//!
//! These calls run with the member's credentials: they are the member role's permissions, not
//! the function's, which is why they live here and not in the service adapters. A role that
//! cannot be assumed, or a region that refuses, is a row with the reason; it never fails the run.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_guardduty::config::Credentials;
use futures::future::join_all;
use futures::stream::{self, StreamExt};
use tracing::{info, warn};

use crate::account::redact_emails;
use crate::limits::{CallError, Deadline};
use crate::member_role::MemberRole;
use crate::outcome::{Outcome, RegionOutcome, Step};
use crate::paging;
use crate::service::{INVITED, Service};

/// Member accounts worked on at once; each assumes the role once and then works its regions
/// together.
const CONCURRENT_MEMBERS: usize = 8;

/// Where each candidate row is: (index of the service-region, index of the row).
type Place = (usize, usize);

/// Whether a row's invitation is waiting to be accepted.
fn pending(outcome: &Outcome) -> bool {
    match outcome {
        Outcome::Invited => true,
        Outcome::AlreadyMember { status } => status.eq_ignore_ascii_case(INVITED),
        _ => false,
    }
}

/// Accepts every pending invitation of `regions` in its member account, and records the result
/// in the rows: `Accepted`, or `Unprocessed` at the `accept` step with the reason.
pub async fn accept_all(
    role: &MemberRole,
    sdk: &SdkConfig,
    administrator: Option<&str>,
    regions: &mut [RegionOutcome],
    deadline: Deadline,
) {
    // Each account's pending rows: where the row is, and the service and region to accept in.
    let mut by_account: BTreeMap<String, Vec<(Place, Service, String)>> = BTreeMap::new();
    for (r, region) in regions.iter().enumerate() {
        for (a, row) in region.accounts.iter().enumerate() {
            if pending(&row.outcome) {
                by_account.entry(row.account_id.clone()).or_default().push((
                    (r, a),
                    region.service,
                    region.region.clone(),
                ));
            }
        }
    }
    if by_account.is_empty() {
        return;
    }
    info!(
        accounts = by_account.len(),
        role = %role.name(),
        "accepting invitations in the member accounts"
    );
    let results: Vec<Vec<(Place, Result<(), String>)>> = stream::iter(by_account)
        .map(|(account, targets)| async move {
            let refuse_all = |reason: String| -> Vec<(Place, Result<(), String>)> {
                targets
                    .iter()
                    .map(|(place, _, _)| (*place, Err(reason.clone())))
                    .collect()
            };
            let Some(admin) = administrator else {
                return refuse_all("the function's own account is not in its ARN, so the administrator's invitation cannot be told apart; accept it in the member account".to_owned());
            };
            let credentials = match role.assume(&account, deadline).await {
                Ok(credentials) => credentials,
                Err(reason) => {
                    warn!(account_id = %account, error = %redact_emails(&reason), "member role not assumed");
                    return refuse_all(reason);
                }
            };
            join_all(targets.iter().map(|(place, service, region)| {
                let credentials = credentials.clone();
                async move {
                    let result = accept(*service, sdk, credentials, region, admin, deadline).await;
                    (*place, result)
                }
            }))
            .await
        })
        .buffer_unordered(CONCURRENT_MEMBERS)
        .collect()
        .await;
    for ((r, a), result) in results.into_iter().flatten() {
        let row = &mut regions[r].accounts[a];
        let service = regions[r].service.name();
        match result {
            Ok(()) => {
                info!(account_id = %row.account_id, service, region = %regions[r].region, "invitation accepted in the member account");
                row.outcome = Outcome::Accepted;
            }
            Err(reason) => {
                warn!(account_id = %row.account_id, service, region = %regions[r].region, error = %redact_emails(&reason), "invitation not accepted");
                row.outcome = Outcome::Unprocessed {
                    step: Step::Accept,
                    result: format!("invited, but not accepted in the member account: {reason}"),
                };
            }
        }
    }
}

async fn accept(
    service: Service,
    sdk: &SdkConfig,
    credentials: Credentials,
    region: &str,
    admin: &str,
    deadline: Deadline,
) -> Result<(), String> {
    match service {
        Service::GuardDuty => {
            let conf = aws_sdk_guardduty::config::Builder::from(sdk)
                .region(aws_sdk_guardduty::config::Region::new(region.to_owned()))
                .credentials_provider(credentials)
                .build();
            guardduty(
                &aws_sdk_guardduty::Client::from_conf(conf),
                region,
                admin,
                deadline,
            )
            .await
        }
        Service::SecurityHub => {
            let conf = aws_sdk_securityhub::config::Builder::from(sdk)
                .region(aws_sdk_securityhub::config::Region::new(region.to_owned()))
                .credentials_provider(credentials)
                .build();
            security_hub(
                &aws_sdk_securityhub::Client::from_conf(conf),
                region,
                admin,
                deadline,
            )
            .await
        }
    }
}

/// Pages through a member's invitations until `page` finds the administrator's: its id, or
/// `None` when no page has it. `page` reads one page: what it found, and the next token.
async fn find_invitation<F, Fut>(mut page: F) -> Result<Option<String>, String>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Option<String>, Option<String>), String>>,
{
    let mut token: Option<String> = None;
    loop {
        let (found, next) = page(token.clone()).await?;
        if found.is_some() {
            return Ok(found);
        }
        match paging::next_token(token.as_deref(), next.as_deref()) {
            Some(next) => token = Some(next),
            None => return Ok(None),
        }
    }
}

fn no_invitation(service: &str, admin: &str, region: &str) -> String {
    format!(
        "no pending invitation from {admin} in the member account for {service} in {region} (it may have been accepted, declined or deleted)"
    )
}

async fn guardduty(
    client: &aws_sdk_guardduty::Client,
    region: &str,
    admin: &str,
    deadline: Deadline,
) -> Result<(), String> {
    let listed = deadline
        .call(client.list_detectors().send())
        .await
        .map_err(|e| e.reason("GuardDuty ListDetectors"))?;
    let detector = match listed.detector_ids().first() {
        Some(id) => id.clone(),
        None => {
            let created = deadline
                .call(client.create_detector().enable(true).send())
                .await
                .map_err(|e| e.reason("GuardDuty CreateDetector"))?;
            let id = created
                .detector_id()
                .ok_or("GuardDuty CreateDetector returned no detector id")?
                .to_owned();
            info!(region, "detector created in the member account");
            id
        }
    };
    let invitation = find_invitation(|token| async move {
        let page = deadline
            .call(
                client
                    .list_invitations()
                    .max_results(50)
                    .set_next_token(token)
                    .send(),
            )
            .await
            .map_err(|e| e.reason("GuardDuty ListInvitations"))?;
        let found = page
            .invitations()
            .iter()
            .find(|i| i.account_id() == Some(admin))
            .and_then(|i| i.invitation_id())
            .map(str::to_owned);
        Ok((found, page.next_token().map(str::to_owned)))
    })
    .await?
    .ok_or_else(|| no_invitation("GuardDuty", admin, region))?;
    deadline
        .call(
            client
                .accept_administrator_invitation()
                .detector_id(&detector)
                .administrator_id(admin)
                .invitation_id(&invitation)
                .send(),
        )
        .await
        .map_err(|e| e.reason("GuardDuty AcceptAdministratorInvitation"))?;
    Ok(())
}

async fn security_hub(
    client: &aws_sdk_securityhub::Client,
    region: &str,
    admin: &str,
    deadline: Deadline,
) -> Result<(), String> {
    match deadline.call(client.describe_hub().send()).await {
        Ok(_) => {}
        Err(CallError::Failed(d)) if d.starts_with("InvalidAccessException") => {
            match deadline.call(client.enable_security_hub().send()).await {
                Ok(_) => info!(region, "Security Hub enabled in the member account"),
                // Enabled in the meantime: what was wanted.
                Err(CallError::Failed(d)) if d.starts_with("ResourceConflictException") => {}
                Err(e) => return Err(e.reason("Security Hub EnableSecurityHub")),
            }
        }
        Err(e) => return Err(e.reason("Security Hub DescribeHub")),
    }
    let invitation = find_invitation(|token| async move {
        let page = deadline
            .call(
                client
                    .list_invitations()
                    .max_results(50)
                    .set_next_token(token)
                    .send(),
            )
            .await
            .map_err(|e| e.reason("Security Hub ListInvitations"))?;
        let found = page
            .invitations()
            .iter()
            .find(|i| i.account_id() == Some(admin))
            .and_then(|i| i.invitation_id())
            .map(str::to_owned);
        Ok((found, page.next_token().map(str::to_owned)))
    })
    .await?
    .ok_or_else(|| no_invitation("Security Hub", admin, region))?;
    deadline
        .call(
            client
                .accept_administrator_invitation()
                .administrator_id(admin)
                .invitation_id(&invitation)
                .send(),
        )
        .await
        .map_err(|e| e.reason("Security Hub AcceptAdministratorInvitation"))?;
    Ok(())
}

//! Security Hub's member side: with the member account's credentials (the member role's, from
//! [`crate::member_role`]), accept the administrator's invitation, enabling Security Hub first
//! when it is off. These calls are the member role's permissions, not the function's, which is
//! why they have a file of their own.
//!
//! **Nothing unchosen is switched on.** `EnableSecurityHub` turns on the default standards
//! unless told not to: "If you don't provide a value for `EnableDefaultStandards`, it is set to
//! `true`" (the service model's `EnableSecurityHubRequest`). Each standard's controls are billed
//! per check, so `EnableDefaultStandards` is always named, from the member settings.

use aws_sdk_securityhub::Client;
use aws_sdk_securityhub::types::Invitation;
use tracing::info;

use super::NOT_ENABLED;
use crate::aws_error::CallError;
use crate::limits::Deadline;
use crate::outcome::{Reason, Service};
use crate::service::{MAX_BATCH, Member};

/// `DescribeHub` and `ListInvitations` together; `EnableSecurityHub` (with the member settings'
/// default standards) when Security Hub is not enabled; the administrator's invitation found;
/// then `AcceptAdministratorInvitation` accepts it. Unpaced: each member is another account.
/// `Ok(true)`: Security Hub was enabled.
pub(crate) async fn accept(
    member: Member<'_>,
    administrator: &str,
    deadline: Deadline,
) -> Result<bool, Reason> {
    let region = member.region.as_str();
    let client = Client::from_conf(
        aws_sdk_securityhub::config::Builder::from(member.sdk)
            .region(aws_sdk_securityhub::config::Region::new(region.to_owned()))
            .credentials_provider(member.credentials)
            .build(),
    );
    let standards = member.settings.security_hub_default_standards;
    let list_invitations = || {
        deadline.call(
            client
                .list_invitations()
                .max_results(MAX_BATCH as i32)
                .into_paginator()
                .items()
                .send()
                .try_collect(),
        )
    };
    let find = |listed: Result<Vec<Invitation>, CallError>| {
        let invitations = listed.map_err(|e| Reason::call("Security Hub ListInvitations", e))?;
        crate::service::invitation_from(
            invitations
                .iter()
                .map(|i| (i.account_id(), i.invitation_id())),
            administrator,
            Service::SecurityHub,
            region,
        )
    };
    // The two reads go together: one call's latency off each member's chain.
    let (hub, listed) = futures::join!(
        deadline.call(client.describe_hub().send()),
        list_invitations()
    );
    let (enabled, invitation) = match hub {
        Ok(_) => (false, find(listed)?),
        Err(e) if e.is(NOT_ENABLED) => {
            let enable = client
                .enable_security_hub()
                .enable_default_standards(standards)
                .send();
            let enabled = match deadline.call(enable).await {
                Ok(_) => {
                    info!(
                        region,
                        default_standards = standards,
                        "Security Hub enabled in the member account"
                    );
                    true
                }
                // Enabled in the meantime: what was wanted, and not by us.
                Err(e) if e.is("ResourceConflictException") => false,
                Err(e) => return Err(Reason::call("Security Hub EnableSecurityHub", e)),
            };
            // AWS does not say what `ListInvitations` answers in an account without Security
            // Hub: when the first read did not find the invitation, it is read again now that
            // Security Hub is on, which is right whichever it answers.
            let invitation = match find(listed) {
                Ok(invitation) => invitation,
                Err(_) => find(list_invitations().await)?,
            };
            (enabled, invitation)
        }
        Err(e) => return Err(Reason::call("Security Hub DescribeHub", e)),
    };
    deadline
        .call(
            client
                .accept_administrator_invitation()
                .administrator_id(administrator)
                .invitation_id(&invitation)
                .send(),
        )
        .await
        .map_err(|e| Reason::call("Security Hub AcceptAdministratorInvitation", e))?;
    Ok(enabled)
}

//! Security Hub's member side: with the member account's credentials (the member role's, from
//! [`crate::member_role`]), accept the administrator's invitation. These calls are the member
//! role's permissions, not the function's, which is why they have a file of their own.

use aws_config::SdkConfig;
use aws_sdk_securityhub::Client;
use aws_sdk_securityhub::config::Credentials;
use tracing::info;

use super::NOT_ENABLED;
use crate::config::Region;
use crate::limits::Deadline;
use crate::outcome::{Reason, Service};
use crate::service::MAX_BATCH;

/// The member side, with the member's credentials: `EnableSecurityHub` when `DescribeHub`
/// says it is not enabled, then `ListInvitations` finds the administrator's invitation and
/// `AcceptAdministratorInvitation` accepts it. Unpaced: each member is another account.
pub(crate) async fn accept(
    sdk: &SdkConfig,
    region: &Region,
    credentials: Credentials,
    administrator: &str,
    deadline: Deadline,
) -> Result<(), Reason> {
    let region = region.as_str();
    let client = Client::from_conf(
        aws_sdk_securityhub::config::Builder::from(sdk)
            .region(aws_sdk_securityhub::config::Region::new(region.to_owned()))
            .credentials_provider(credentials)
            .build(),
    );
    match deadline.call(client.describe_hub().send()).await {
        Ok(_) => {}
        Err(e) if e.is(NOT_ENABLED) => {
            match deadline.call(client.enable_security_hub().send()).await {
                Ok(_) => info!(region, "Security Hub enabled in the member account"),
                // Enabled in the meantime: what was wanted.
                Err(e) if e.is("ResourceConflictException") => {}
                Err(e) => return Err(Reason::call("Security Hub EnableSecurityHub", e)),
            }
        }
        Err(e) => return Err(Reason::call("Security Hub DescribeHub", e)),
    }
    let invitations: Vec<_> = deadline
        .call(
            client
                .list_invitations()
                .max_results(MAX_BATCH as i32)
                .into_paginator()
                .items()
                .send()
                .try_collect(),
        )
        .await
        .map_err(|e| Reason::call("Security Hub ListInvitations", e))?;
    let invitation = crate::service::invitation_from(
        invitations
            .iter()
            .map(|i| (i.account_id(), i.invitation_id())),
        administrator,
        Service::SecurityHub,
        region,
    )?;
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
    Ok(())
}

//! GuardDuty's member side: with the member account's credentials (the member role's, from
//! [`crate::member_role`]), accept the administrator's invitation. These calls are the member
//! role's permissions, not the function's, which is why they have a file of their own.

use aws_config::SdkConfig;
use aws_sdk_guardduty::Client;
use aws_sdk_guardduty::config::Credentials;
use tracing::info;

use crate::config::Region;
use crate::limits::Deadline;
use crate::outcome::{Reason, Service};
use crate::service::MAX_BATCH;

/// The member side, with the member's credentials: the member needs a detector of its own
/// (`CreateDetector` when it has none), then `ListInvitations` finds the administrator's
/// invitation and `AcceptAdministratorInvitation` accepts it (not the deprecated
/// `AcceptInvitation`). These calls are the member role's, unpaced: each lands in another
/// account, so they share no rate limit.
pub(crate) async fn accept(
    sdk: &SdkConfig,
    region: &Region,
    credentials: Credentials,
    administrator: &str,
    deadline: Deadline,
) -> Result<(), Reason> {
    let region = region.as_str();
    let client = Client::from_conf(
        aws_sdk_guardduty::config::Builder::from(sdk)
            .region(aws_sdk_guardduty::config::Region::new(region.to_owned()))
            .credentials_provider(credentials)
            .build(),
    );
    let listed = deadline
        .call(client.list_detectors().send())
        .await
        .map_err(|e| Reason::call("GuardDuty ListDetectors", e))?;
    let detector = match listed.detector_ids().first() {
        Some(id) => id.clone(),
        None => {
            let created = deadline
                .call(client.create_detector().enable(true).send())
                .await
                .map_err(|e| Reason::call("GuardDuty CreateDetector", e))?;
            let id = created
                .detector_id()
                .ok_or(Reason::NoDetectorCreated)?
                .to_owned();
            info!(region, "detector created in the member account");
            id
        }
    };
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
        .map_err(|e| Reason::call("GuardDuty ListInvitations", e))?;
    let invitation = crate::service::invitation_from(
        invitations
            .iter()
            .map(|i| (i.account_id(), i.invitation_id())),
        administrator,
        Service::GuardDuty,
        region,
    )?;
    deadline
        .call(
            client
                .accept_administrator_invitation()
                .detector_id(&detector)
                .administrator_id(administrator)
                .invitation_id(&invitation)
                .send(),
        )
        .await
        .map_err(|e| Reason::call("GuardDuty AcceptAdministratorInvitation", e))?;
    Ok(())
}

//! GuardDuty's member side: with the member account's credentials (the member role's, from
//! [`crate::member_role`]), accept the administrator's invitation, creating the member's
//! detector first when it has none. These calls are the member role's permissions, not the
//! function's, which is why they have a file of their own.
//!
//! **Nothing unchosen is switched on.** `CreateDetector` enables every optional protection plan
//! it is not told about: "When you don't specify any `features`, with an exception to
//! `RUNTIME_MONITORING`, all the optional features are enabled by default", and "any feature
//! that is not specified in the API call gets enabled by default" (the service model's
//! `CreateDetector` documentation). So the detector is created naming every feature the SDK
//! knows (`DetectorFeature::values()`, the model's enum), each `ENABLED` when the member settings
//! choose it and `DISABLED` otherwise. `RUNTIME_MONITORING` and `EKS_RUNTIME_MONITORING` cannot
//! both be named ("will cause an error"): `RUNTIME_MONITORING`, which is not enabled unnamed, is
//! named only when chosen, and then `EKS_RUNTIME_MONITORING` (which it covers) is left out.

use aws_sdk_guardduty::Client;
use aws_sdk_guardduty::types::{DetectorFeature, DetectorFeatureConfiguration, FeatureStatus};
use tracing::info;

use crate::limits::Deadline;
use crate::outcome::{Reason, Service};
use crate::service::{MAX_BATCH, Member};

const RUNTIME_MONITORING: &str = "RUNTIME_MONITORING";
const EKS_RUNTIME_MONITORING: &str = "EKS_RUNTIME_MONITORING";

/// `ListDetectors` and `ListInvitations` together; the administrator's invitation must be
/// there; the member needs a detector of its own (`CreateDetector`, with the member settings,
/// when it has none); then `AcceptAdministratorInvitation` accepts the invitation (not the
/// deprecated `AcceptInvitation`).
/// Unpaced: each member is another account, so they share no rate limit. `Ok(true)`: the
/// detector was created.
pub(crate) async fn accept(
    member: Member<'_>,
    administrator: &str,
    deadline: Deadline,
) -> Result<bool, Reason> {
    let region = member.region.as_str();
    let client = Client::from_conf(
        aws_sdk_guardduty::config::Builder::from(member.sdk)
            .region(aws_sdk_guardduty::config::Region::new(region.to_owned()))
            .credentials_provider(member.credentials)
            .build(),
    );
    // The two reads are independent (`ListInvitations` is the account's, not a detector's:
    // `GET /invitation`), so they go together: one call's latency off each member's chain.
    let (listed, invitations) = futures::join!(
        deadline.call(client.list_detectors().send()),
        deadline.call(
            client
                .list_invitations()
                .max_results(MAX_BATCH as i32)
                .into_paginator()
                .items()
                .send()
                .try_collect(),
        )
    );
    let listed = listed.map_err(|e| Reason::call("GuardDuty ListDetectors", e))?;
    let invitations = invitations.map_err(|e| Reason::call("GuardDuty ListInvitations", e))?;
    // Nothing is switched on in an account that has no invitation to accept.
    let invitation = crate::service::invitation_from(
        invitations
            .iter()
            .map(|i| (i.account_id(), i.invitation_id())),
        administrator,
        Service::GuardDuty,
        region,
    )?;
    let (detector, created) = match listed.detector_ids().first() {
        Some(id) => (id.clone(), false),
        None => {
            let created = deadline
                .call(
                    client
                        .create_detector()
                        .enable(true)
                        .set_features(Some(features(&member.settings.guardduty_features)))
                        .send(),
                )
                .await
                .map_err(|e| Reason::call("GuardDuty CreateDetector", e))?;
            let id = created
                .detector_id()
                .ok_or(Reason::NoDetectorCreated)?
                .to_owned();
            info!(region, features = ?member.settings.guardduty_features, "detector created in the member account, with only the chosen protection plans");
            (id, true)
        }
    };
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
    Ok(created)
}

/// Every feature `CreateDetector` would otherwise enable, with its status: `ENABLED` when
/// `chosen` names it, else `DISABLED` (see the module's comment for the two runtime monitorings).
pub(crate) fn features(chosen: &[String]) -> Vec<DetectorFeatureConfiguration> {
    let runtime = chosen.iter().any(|c| c == RUNTIME_MONITORING);
    DetectorFeature::values()
        .iter()
        .filter(|name| match **name {
            RUNTIME_MONITORING => runtime,
            EKS_RUNTIME_MONITORING => !runtime,
            _ => true,
        })
        .map(|name| {
            let status = if chosen.iter().any(|c| c == name) {
                FeatureStatus::Enabled
            } else {
                FeatureStatus::Disabled
            };
            DetectorFeatureConfiguration::builder()
                .name(DetectorFeature::from(*name))
                .status(status)
                .build()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(chosen: &[&str]) -> Vec<(String, String)> {
        let chosen: Vec<String> = chosen.iter().map(|c| (*c).to_owned()).collect();
        features(&chosen)
            .iter()
            .map(|f| {
                (
                    f.name().map(|n| n.as_str().to_owned()).unwrap_or_default(),
                    f.status()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                )
            })
            .collect()
    }

    #[test]
    fn by_default_every_feature_that_would_be_enabled_is_named_disabled() {
        let named = named(&[]);
        assert!(
            named.iter().all(|(_, status)| status == "DISABLED"),
            "{named:?}"
        );
        let names: Vec<&str> = named.iter().map(|(n, _)| n.as_str()).collect();
        for feature in DetectorFeature::values() {
            // RUNTIME_MONITORING is the one feature not enabled unnamed.
            assert_eq!(
                names.contains(feature),
                *feature != RUNTIME_MONITORING,
                "{feature}"
            );
        }
    }

    #[test]
    fn chosen_features_are_enabled_and_the_two_runtime_monitorings_never_both_named() {
        let named = named(&["S3_DATA_EVENTS", RUNTIME_MONITORING]);
        let status = |name: &str| {
            named
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, s)| s.as_str())
        };
        assert_eq!(status("S3_DATA_EVENTS"), Some("ENABLED"));
        assert_eq!(status(RUNTIME_MONITORING), Some("ENABLED"));
        assert_eq!(status(EKS_RUNTIME_MONITORING), None);
        assert_eq!(status("EBS_MALWARE_PROTECTION"), Some("DISABLED"));
        let enabled = named.iter().filter(|(_, s)| s == "ENABLED").count();
        assert_eq!(enabled, 2);

        let legacy = self::named(&[EKS_RUNTIME_MONITORING]);
        assert!(legacy.contains(&(EKS_RUNTIME_MONITORING.to_owned(), "ENABLED".to_owned())));
        assert!(!legacy.iter().any(|(n, _)| n == RUNTIME_MONITORING));
    }
}

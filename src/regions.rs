//! `REGIONS=all-enabled`: the regions enabled for the administrator account, from
//! `account:ListRegions`, resolved once per cold start by the handler.
//!
//! Every region is listed, with its opt-in status, so that the regions left out can be named in
//! the report: `ENABLED` and `ENABLED_BY_DEFAULT` are onboarded; any other status (`DISABLED`,
//! `ENABLING`, `DISABLING`) is reported once and skipped.

use aws_sdk_account::Client;
use tracing::{info, warn};

use crate::config::Region;
use crate::limits::Deadline;
use crate::outcome::{Reason, RegionNotEnabled};

/// `ListRegions` returns at most 50 regions a page.
const PAGE_SIZE: i32 = 50;

/// The regions to onboard in, and those left out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EnabledRegions {
    pub regions: Vec<Region>,
    pub not_enabled: Vec<RegionNotEnabled>,
}

/// Why the regions could not be listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "REGIONS is all-enabled but the enabled regions could not be listed: {0}; grant the function's role account:ListRegions, or set REGIONS to a list of regions"
)]
pub struct RegionsError(pub String);

/// Whether an opt-in status means the region can be used.
fn usable(status: &str) -> bool {
    matches!(status, "ENABLED" | "ENABLED_BY_DEFAULT")
}

/// Lists every region of the account, every page (the SDK's paginator).
pub async fn enabled(client: &Client, deadline: Deadline) -> Result<EnabledRegions, RegionsError> {
    let listed: Vec<aws_sdk_account::types::Region> = deadline
        .call(
            client
                .list_regions()
                .max_results(PAGE_SIZE)
                .into_paginator()
                .items()
                .send()
                .try_collect(),
        )
        .await
        .map_err(|e| RegionsError(Reason::call("ListRegions", e).to_string()))?;
    let mut found = EnabledRegions::default();
    for listed in &listed {
        let name = listed.region_name().unwrap_or("");
        let status = listed.region_opt_status().map(|s| s.as_str()).unwrap_or("");
        let Some(region) = Region::parse(name) else {
            warn!(
                region = name,
                "ListRegions gave a name that is not a region; skipped"
            );
            continue;
        };
        if usable(status) {
            if !found.regions.contains(&region) {
                found.regions.push(region);
            }
        } else {
            found.not_enabled.push(RegionNotEnabled {
                region: region.to_string(),
                status: status.to_owned(),
            });
        }
    }
    info!(
        enabled = found.regions.len(),
        not_enabled = found.not_enabled.len(),
        "regions listed"
    );
    Ok(found)
}

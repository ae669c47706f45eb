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
use crate::outcome::RegionNotEnabled;
use crate::paging;

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

/// Lists every region of the account, every page.
pub async fn enabled(client: &Client, deadline: Deadline) -> Result<EnabledRegions, RegionsError> {
    let mut found = EnabledRegions::default();
    let mut token: Option<String> = None;
    loop {
        let page = deadline
            .call(
                client
                    .list_regions()
                    .max_results(PAGE_SIZE)
                    .set_next_token(token.clone())
                    .send(),
            )
            .await
            .map_err(|e| RegionsError(e.reason("ListRegions")))?;
        for listed in page.regions() {
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
        match paging::next_token(token.as_deref(), page.next_token()) {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    info!(
        enabled = found.regions.len(),
        not_enabled = found.not_enabled.len(),
        "regions listed"
    );
    Ok(found)
}

//! The function's configuration: read from the environment once, at cold start, into a checked
//! value. An invalid variable fails the start with a message that names it and says how to fix it.

use std::collections::BTreeMap;
use std::fmt;

use crate::account::Email;

/// One configuration variable, as the table of docs/configuration.md and the SAM template
/// document it.
#[derive(Debug, Clone, Copy)]
pub struct Variable {
    pub name: &'static str,
    /// The SAM template parameter that sets it.
    pub parameter: &'static str,
    pub meaning: &'static str,
    /// The default as docs/configuration.md states it.
    pub default: &'static str,
    /// The template parameter's `Default`: the value that means the same as unset.
    pub template_default: &'static str,
}

/// Every variable the function reads: the public contract.
pub const VARIABLES: &[Variable] = &[
    Variable {
        name: "GUARDDUTY_DETECTOR_ID",
        parameter: "GuardDutyDetectorId",
        meaning: "Optional. One detector id applies to the function's own region; for several regions give comma-separated `region=id` pairs. A region without an id is discovered with `ListDetectors`.",
        default: "discover",
        template_default: "",
    },
    Variable {
        name: "INVITATION_MESSAGE",
        parameter: "InvitationMessage",
        meaning: "The message sent with `InviteMembers`.",
        default: DEFAULT_INVITATION_MESSAGE,
        template_default: DEFAULT_INVITATION_MESSAGE,
    },
    Variable {
        name: "DISABLE_EMAIL_NOTIFICATION",
        parameter: "DisableEmailNotification",
        meaning: "`true` or `false`: whether GuardDuty skips the invitation email to the member's root address.",
        default: "false",
        template_default: "false",
    },
    Variable {
        name: "REGIONS",
        parameter: "Regions",
        meaning: "Comma-separated regions to onboard in, or `all-enabled`: every region enabled for this account (`account:ListRegions`), resolved once per cold start.",
        default: "the function's region",
        template_default: "",
    },
    Variable {
        name: "ENABLE_SECURITY_HUB",
        parameter: "EnableSecurityHub",
        meaning: "`true` or `false`: also make every account a Security Hub member (`CreateMembers`, then `InviteMembers`) in every region onboarded.",
        default: "false",
        template_default: "false",
    },
    Variable {
        name: "MEMBER_ROLE_NAME",
        parameter: "MemberRoleName",
        meaning: "Optional. The name of a role the function assumes in each invited member account, to accept the invitation there (GuardDuty, and Security Hub when on), for example `AWSControlTowerExecution` or `OrganizationAccountAccessRole`. Empty: members accept themselves.",
        default: "empty (off)",
        template_default: "",
    },
    Variable {
        name: "MEMBER_GUARDDUTY_FEATURES",
        parameter: "MemberGuardDutyFeatures",
        meaning: "Optional, with `MEMBER_ROLE_NAME`. Comma-separated GuardDuty protection plans to turn on in a detector the function creates in a member account (`S3_DATA_EVENTS`, `EKS_AUDIT_LOGS`, `EBS_MALWARE_PROTECTION`, `RDS_LOGIN_EVENTS`, `LAMBDA_NETWORK_LOGS`, `RUNTIME_MONITORING` or `EKS_RUNTIME_MONITORING`, `AI_PROTECTION`, `AI_ANALYST`); every other plan is named as disabled. Empty: none, only GuardDuty's foundational detection. Each plan is billed on its own.",
        default: "none",
        template_default: "",
    },
    Variable {
        name: "MEMBER_SECURITY_HUB_DEFAULT_STANDARDS",
        parameter: "MemberSecurityHubDefaultStandards",
        meaning: "`true` or `false`, with `MEMBER_ROLE_NAME` and Security Hub on: whether Security Hub, when the function enables it in a member account, also turns on its default standards (billed per security check).",
        default: "false",
        template_default: "false",
    },
    Variable {
        name: "REPORT_SENDER",
        parameter: "ReportSender",
        meaning: "An SES-verified identity the report is sent from.",
        default: "required unless `REPORT_WHEN=never`",
        template_default: "",
    },
    Variable {
        name: "REPORT_RECIPIENTS",
        parameter: "ReportRecipients",
        meaning: "Comma-separated addresses (1-50) the report is sent to.",
        default: "required unless `REPORT_WHEN=never`",
        template_default: "",
    },
    Variable {
        name: "REPORT_WHEN",
        parameter: "ReportWhen",
        meaning: "`changes` (when the run created, invited, enabled or accepted anything, or when something needs a person), `always`, `unprocessed` (only when something needs a person: an account not processed, a member that needs action, or a service-region that could not be used) or `never`. A dry run's report is sent unless `never`.",
        default: "changes",
        template_default: "changes",
    },
    Variable {
        name: "MANAGEMENT_ACCOUNT_ID",
        parameter: "ManagementAccountId",
        meaning: "Optional. The organisation's management account: `forwarder.yaml` there forwards the account events to this stack's bus, and as a member it gets advice of its own (Security Hub cannot enable it automatically). Empty when this account is the management account.",
        default: "empty (this account)",
        template_default: "",
    },
    Variable {
        name: "BATCH_CONCURRENCY",
        parameter: "BatchConcurrency",
        meaning: "How many batches of 50 accounts go through their steps at once in each service and region (1-50). More is faster against a service that answers slowly; fewer sends fewer calls at once into a rate limit it has not yet learnt.",
        default: "4",
        template_default: "4",
    },
    Variable {
        name: "MEMBER_CONCURRENCY",
        parameter: "MemberConcurrency",
        meaning: "With `MEMBER_ROLE_NAME`: how many member accounts accept their invitations at once (1-200), each assuming the role once and then working its regions together. Member calls land in different accounts and share no rate limit; the role's `AssumeRole` calls are paced under STS's documented rate whatever this is.",
        default: "32",
        template_default: "32",
    },
    Variable {
        name: "REMOVE_DEPARTED_MEMBERS",
        parameter: "RemoveDepartedMembers",
        meaning: "`true` or `false`: whether a sweep disassociates and deletes the members whose accounts the organisation no longer backs (absent from it, or not `ACTIVE` there). Off, they are only reported, each with its action; a dry run says what it would remove.",
        default: "false",
        template_default: "false",
    },
    Variable {
        name: "METRICS_NAMESPACE",
        parameter: "MetricsNamespace",
        meaning: "The CloudWatch namespace of the run's metrics (its counts, in all, per service and per kind of trigger), written to the function's log in CloudWatch's embedded metric format; `none` writes none. The template's coverage alarm reads them.",
        default: crate::metrics::DEFAULT_NAMESPACE,
        template_default: crate::metrics::DEFAULT_NAMESPACE,
    },
];

/// The most `BATCH_CONCURRENCY` takes.
pub const MAX_BATCH_CONCURRENCY: usize = 50;

/// The most `MEMBER_CONCURRENCY` takes.
pub const MAX_MEMBER_CONCURRENCY: usize = 200;

/// The invitation message when `INVITATION_MESSAGE` is not set.
pub const DEFAULT_INVITATION_MESSAGE: &str = "Your AWS account has been added to the organisation's Amazon GuardDuty administrator account for central threat detection. Please accept this invitation in the GuardDuty console.";

/// SES v2 takes at most 50 recipients per message.
pub const MAX_RECIPIENTS: usize = 50;

/// A region name of the `aa-bbbb-9` shape (`us-east-1`, `us-gov-west-1`, `cn-north-1`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Region(String);

impl Region {
    pub fn parse(value: &str) -> Option<Region> {
        let parts: Vec<&str> = value.split('-').collect();
        let shape_ok = (3..=4).contains(&parts.len())
            && parts[0].len() == 2
            && parts[..parts.len() - 1]
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
            && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
            && !parts[parts.len() - 1].is_empty();
        shape_ok.then(|| Region(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where to onboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Regions {
    /// These regions, without duplicates, in the order given.
    Listed(Vec<Region>),
    /// Every region enabled for the administrator account, listed at cold start.
    AllEnabled,
}

/// The value of `REGIONS` that means every enabled region.
pub const ALL_ENABLED: &str = "all-enabled";

/// An IAM role name: 1-64 characters of letters, digits and `+=,.@_-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleName(String);

impl RoleName {
    pub fn parse(value: &str) -> Option<RoleName> {
        let ok = (1..=64).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
        ok.then(|| RoleName(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// When the report email is sent (a dry run's report is sent under each: someone asked for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportWhen {
    /// When the run created, invited, enabled or accepted anything, or anything needs a person:
    /// a run that found everything in place sends nothing. The default.
    Changes,
    Always,
    /// Only when something needs a person.
    Unprocessed,
}

/// Where and when the report goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportSettings {
    Never,
    Send {
        when: ReportWhen,
        sender: String,
        recipients: Vec<Email>,
    },
}

/// The checked configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The regions to onboard in.
    pub regions: Regions,
    /// Detector ids given for some regions; the others are discovered.
    pub detectors: BTreeMap<Region, String>,
    pub invitation_message: String,
    pub disable_email_notification: bool,
    /// Security Hub beside GuardDuty.
    pub security_hub: bool,
    /// The role to assume in member accounts to accept their invitations.
    pub member_role: Option<RoleName>,
    /// What accepting switches on in a member account where the service is off.
    pub member_settings: MemberSettings,
    pub report: ReportSettings,
    /// Batches that go through their steps at once in each service-region.
    pub batch_concurrency: usize,
    /// Member accounts that accept their invitations at once.
    pub member_concurrency: usize,
    /// The organisation's management account, when it is not this one.
    pub management_account: Option<crate::account::AccountId>,
    /// Where the run's metrics go; none when `METRICS_NAMESPACE` is `none`.
    pub metrics: Option<crate::metrics::Namespace>,
    /// A sweep disassociates and deletes the members the organisation no longer backs.
    pub remove_departed_members: bool,
}

/// A variable that is missing or wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable} {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

fn err(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup` (the environment, or a map in tests).
    /// `AWS_REGION`, which Lambda sets, is the function's own region.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        // An empty variable counts as unset: SAM passes empty strings for blank parameters.
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let own_region = match get("AWS_REGION") {
            Some(value) => Some(Region::parse(value.trim()).ok_or_else(|| {
                err("AWS_REGION", format!("is {value:?}, which is not a region name: set it to a region such as us-east-1"))
            })?),
            None => None,
        };

        let regions = match get("REGIONS") {
            Some(value) if value.trim().eq_ignore_ascii_case(ALL_ENABLED) => Regions::AllEnabled,
            Some(value) => Regions::Listed(parse_regions(&value)?),
            None => Regions::Listed(vec![own_region.clone().ok_or_else(|| {
                err("REGIONS", "is not set and the function's region (AWS_REGION) is unknown: set REGIONS to comma-separated regions such as us-east-1,eu-west-1, or to all-enabled")
            })?]),
        };

        let detectors = match get("GUARDDUTY_DETECTOR_ID") {
            Some(value) => parse_detectors(&value, own_region.as_ref(), &regions)?,
            None => BTreeMap::new(),
        };

        let invitation_message = match lookup("INVITATION_MESSAGE") {
            None => DEFAULT_INVITATION_MESSAGE.to_owned(),
            Some(value) if value.trim().is_empty() => {
                return Err(err(
                    "INVITATION_MESSAGE",
                    "is empty: unset it to use the default message, or set the text to send with the invitation",
                ));
            }
            Some(value) => value,
        };

        let flag = |name: &'static str| match get(name) {
            None => Ok(false),
            Some(value) => parse_bool(&value)
                .ok_or_else(|| err(name, format!("is {value:?}: set it to true or false"))),
        };
        let disable_email_notification = flag("DISABLE_EMAIL_NOTIFICATION")?;
        let security_hub = flag("ENABLE_SECURITY_HUB")?;
        let remove_departed_members = flag("REMOVE_DEPARTED_MEMBERS")?;
        let member_role = match get("MEMBER_ROLE_NAME") {
            None => None,
            Some(value) => Some(RoleName::parse(value.trim()).ok_or_else(|| {
                err("MEMBER_ROLE_NAME", format!("is {:?}, which is not an IAM role name: give the role's name alone (1-64 letters, digits and +=,.@_-), such as AWSControlTowerExecution, or leave it empty", crate::text::printable(&value, 80)))
            })?),
        };

        let member_settings = MemberSettings {
            guardduty_features: match get("MEMBER_GUARDDUTY_FEATURES") {
                Some(value) => parse_features(&value)?,
                None => Vec::new(),
            },
            security_hub_default_standards: flag("MEMBER_SECURITY_HUB_DEFAULT_STANDARDS")?,
        };

        let when = match get("REPORT_WHEN").map(|v| v.trim().to_ascii_lowercase()) {
            None => Some(ReportWhen::Changes),
            Some(v) if v == "changes" => Some(ReportWhen::Changes),
            Some(v) if v == "always" => Some(ReportWhen::Always),
            Some(v) if v == "unprocessed" => Some(ReportWhen::Unprocessed),
            Some(v) if v == "never" => None,
            Some(v) => {
                return Err(err(
                    "REPORT_WHEN",
                    format!("is {v:?}: set it to changes, always, unprocessed or never"),
                ));
            }
        };
        let report = match when {
            None => ReportSettings::Never,
            Some(when) => ReportSettings::Send {
                when,
                sender: parse_sender(get("REPORT_SENDER"))?,
                recipients: parse_recipients(get("REPORT_RECIPIENTS"))?,
            },
        };

        let batch_concurrency = count(
            "BATCH_CONCURRENCY",
            get("BATCH_CONCURRENCY"),
            MAX_BATCH_CONCURRENCY,
            crate::limits::BATCH_CONCURRENCY,
        )?;
        let member_concurrency = count(
            "MEMBER_CONCURRENCY",
            get("MEMBER_CONCURRENCY"),
            MAX_MEMBER_CONCURRENCY,
            crate::limits::MEMBER_CONCURRENCY,
        )?;

        let management_account = match get("MANAGEMENT_ACCOUNT_ID") {
            None => None,
            Some(value) => Some(crate::account::AccountId::parse(value.trim()).ok_or_else(|| {
                err("MANAGEMENT_ACCOUNT_ID", format!("is {:?}, which is not an account id: give the management account's 12 digits, or leave it empty when this is the management account", crate::text::printable(&value, 40)))
            })?),
        };

        let metrics = match get("METRICS_NAMESPACE") {
            None => Some(crate::metrics::Namespace::default()),
            Some(value) if value.trim().eq_ignore_ascii_case(crate::metrics::OFF) => None,
            Some(value) => Some(
                crate::metrics::Namespace::parse(value.trim())
                    .map_err(|problem| err("METRICS_NAMESPACE", problem))?,
            ),
        };

        Ok(Config {
            regions,
            detectors,
            invitation_message,
            disable_email_notification,
            security_hub,
            member_role,
            member_settings,
            report,
            batch_concurrency,
            member_concurrency,
            management_account,
            metrics,
            remove_departed_members,
        })
    }
}

/// What accepting an invitation switches on in a member account where the service is off, so
/// that nothing that costs money is switched on unchosen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberSettings {
    /// GuardDuty features (protection plans) enabled in a detector the function creates, by
    /// their API names; the others are named `DISABLED`.
    pub guardduty_features: Vec<String>,
    /// Whether `EnableSecurityHub` turns on Security Hub's default standards.
    pub security_hub_default_standards: bool,
}

impl MemberSettings {
    /// What accepting switches on, for the report: "GuardDuty: a detector with S3_DATA_EVENTS
    /// (every other protection plan disabled); Security Hub: without its default standards".
    pub fn describe(&self, security_hub: bool) -> String {
        let guardduty = match self.guardduty_features.as_slice() {
            [] => "GuardDuty: a detector with no protection plan (foundational detection only)"
                .to_owned(),
            features => format!(
                "GuardDuty: a detector with {} (every other protection plan disabled)",
                features.join(", ")
            ),
        };
        if !security_hub {
            return guardduty;
        }
        let standards = if self.security_hub_default_standards {
            "with its default standards"
        } else {
            "without its default standards"
        };
        format!("{guardduty}; Security Hub: {standards}")
    }
}

/// The GuardDuty features a member's detector is created with. The names are the SDK's
/// `DetectorFeature` values (the service model's enum). `RUNTIME_MONITORING` already covers
/// what `EKS_RUNTIME_MONITORING` did, and GuardDuty refuses a request naming both (the
/// `CreateDetector` reference: "Specifying both ... will cause an error").
fn parse_features(value: &str) -> Result<Vec<String>, ConfigError> {
    use aws_sdk_guardduty::types::DetectorFeature;
    const NAME: &str = "MEMBER_GUARDDUTY_FEATURES";
    let known = DetectorFeature::values();
    let mut features: Vec<String> = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let name = part.to_ascii_uppercase();
        if !known.contains(&name.as_str()) {
            return Err(err(
                NAME,
                format!(
                    "names {:?}, which is not a GuardDuty feature: give comma-separated names among {}, or leave it empty",
                    crate::text::printable(part, 60),
                    known.join(", ")
                ),
            ));
        }
        if !features.contains(&name) {
            features.push(name);
        }
    }
    let both = ["RUNTIME_MONITORING", "EKS_RUNTIME_MONITORING"];
    if both.iter().all(|f| features.iter().any(|g| g == f)) {
        return Err(err(
            NAME,
            "names both RUNTIME_MONITORING and EKS_RUNTIME_MONITORING, which GuardDuty refuses together: RUNTIME_MONITORING covers Amazon EKS too, so give it alone",
        ));
    }
    Ok(features)
}

/// A whole number from 1 to `max`, or `default` when the variable is unset.
fn count(
    variable: &'static str,
    value: Option<String>,
    max: usize,
    default: usize,
) -> Result<usize, ConfigError> {
    let Some(value) = value else {
        return Ok(default);
    };
    value
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| {
            err(
                variable,
                format!(
                    "is {:?}: set it to a whole number from 1 to {max}, or leave it empty for {default}",
                    crate::text::printable(&value, 40),
                ),
            )
        })
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

fn parse_regions(value: &str) -> Result<Vec<Region>, ConfigError> {
    let mut regions: Vec<Region> = Vec::new();
    for item in value.split(',').map(str::trim) {
        if item.is_empty() {
            return Err(err(
                "REGIONS",
                format!(
                    "is {value:?}, which has an empty item: give comma-separated regions such as us-east-1,eu-west-1"
                ),
            ));
        }
        let region = Region::parse(item).ok_or_else(|| {
            err("REGIONS", format!("has {item:?}, which is not a region name: use names such as us-east-1 or eu-west-1"))
        })?;
        if !regions.contains(&region) {
            regions.push(region);
        }
    }
    Ok(regions)
}

/// A GuardDuty detector id: 1–300 characters, letters and digits (real ones are 32 hex digits).
fn check_detector_id(id: &str) -> Result<String, ConfigError> {
    if id.is_empty() || id.len() > 300 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(err(
            "GUARDDUTY_DETECTOR_ID",
            format!(
                "has {id:?}, which is not a detector id: copy it from `aws guardduty list-detectors`, or unset the variable to discover it"
            ),
        ));
    }
    Ok(id.to_owned())
}

fn parse_detectors(
    value: &str,
    own_region: Option<&Region>,
    regions: &Regions,
) -> Result<BTreeMap<Region, String>, ConfigError> {
    let mut detectors = BTreeMap::new();
    if !value.contains('=') {
        let region = own_region.ok_or_else(|| {
            err("GUARDDUTY_DETECTOR_ID", "is a single id but the function's region (AWS_REGION) is unknown: write it as region=id")
        })?;
        detectors.insert(region.clone(), check_detector_id(value.trim())?);
    } else {
        for item in value.split(',').map(str::trim) {
            let (region, id) = item.split_once('=').ok_or_else(|| {
                err("GUARDDUTY_DETECTOR_ID", format!("has {item:?}: with several regions, write each as region=id, comma-separated"))
            })?;
            let region = Region::parse(region.trim()).ok_or_else(|| {
                err("GUARDDUTY_DETECTOR_ID", format!("has {item:?}, whose region is not a region name: write region=id, such as us-east-1=12abc34d567e8fa901bc2d34e56789f0"))
            })?;
            let id = check_detector_id(id.trim())?;
            if detectors.insert(region.clone(), id).is_some() {
                return Err(err(
                    "GUARDDUTY_DETECTOR_ID",
                    format!("names {region} twice: give one detector id per region"),
                ));
            }
        }
    }
    let listed = match regions {
        Regions::Listed(listed) => listed.as_slice(),
        Regions::AllEnabled => return Ok(detectors),
    };
    if let Some(region) = detectors.keys().find(|r| !listed.contains(r)) {
        return Err(err(
            "GUARDDUTY_DETECTOR_ID",
            format!(
                "names {region}, which is not in REGIONS: add {region} to REGIONS or remove its detector id"
            ),
        ));
    }
    Ok(detectors)
}

fn parse_sender(value: Option<String>) -> Result<String, ConfigError> {
    let value = value.ok_or_else(|| {
        err("REPORT_SENDER", "is not set: set it to an SES-verified address or domain address such as guardduty-onboarding@example.com, or set REPORT_WHEN=never")
    })?;
    let value = value.trim();
    // SES accepts `Display Name <address>`; the address inside must be plausible either way.
    let address = match (value.rfind('<'), value.strip_suffix('>')) {
        (Some(start), Some(inner)) => &inner[start + 1..],
        _ => value,
    };
    Email::parse(address).ok_or_else(|| {
        err("REPORT_SENDER", "is not an email address: set it to an SES-verified address such as guardduty-onboarding@example.com")
    })?;
    Ok(value.to_owned())
}

fn parse_recipients(value: Option<String>) -> Result<Vec<Email>, ConfigError> {
    let value = value.ok_or_else(|| {
        err(
            "REPORT_RECIPIENTS",
            "is not set: set it to one or more comma-separated addresses, or set REPORT_WHEN=never",
        )
    })?;
    let mut recipients: Vec<Email> = Vec::new();
    // The values are addresses: the messages give their position, never the text.
    for (position, item) in value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .enumerate()
    {
        let email = Email::parse(item).ok_or_else(|| {
            err("REPORT_RECIPIENTS", format!("item {} is not an email address: give comma-separated addresses such as secops@example.com", position + 1))
        })?;
        if !recipients.contains(&email) {
            recipients.push(email);
        }
    }
    if recipients.is_empty() {
        return Err(err(
            "REPORT_RECIPIENTS",
            "is empty: set it to one or more comma-separated addresses",
        ));
    }
    if recipients.len() > MAX_RECIPIENTS {
        return Err(err(
            "REPORT_RECIPIENTS",
            format!(
                "has {} addresses; SES takes at most {MAX_RECIPIENTS}: use a distribution list",
                recipients.len()
            ),
        ));
    }
    Ok(recipients)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    const BASE: &[(&str, &str)] = &[
        ("AWS_REGION", "us-east-1"),
        ("REPORT_SENDER", "onboarder@example.com"),
        ("REPORT_RECIPIENTS", "secops@example.com"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Result<Config, ConfigError> {
        let mut vars: Vec<(&str, &str)> = BASE.to_vec();
        vars.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        vars.extend_from_slice(extra);
        config(&vars)
    }

    #[test]
    fn defaults_apply_when_only_the_report_addresses_are_set() {
        let c = with(&[]).unwrap();
        assert_eq!(
            c.regions,
            Regions::Listed(vec![Region::parse("us-east-1").unwrap()])
        );
        assert!(!c.security_hub);
        assert_eq!(c.member_role, None);
        assert!(c.detectors.is_empty());
        assert_eq!(c.invitation_message, DEFAULT_INVITATION_MESSAGE);
        assert!(!c.disable_email_notification);
        assert_eq!(
            c.report,
            ReportSettings::Send {
                when: ReportWhen::Changes,
                sender: "onboarder@example.com".into(),
                recipients: vec![Email::parse("secops@example.com").unwrap()],
            }
        );
    }

    #[test]
    fn every_value_is_read() {
        let c = with(&[
            ("REGIONS", "us-east-1, eu-west-1,us-east-1"),
            ("GUARDDUTY_DETECTOR_ID", "eu-west-1=abc123"),
            ("INVITATION_MESSAGE", "Welcome"),
            ("DISABLE_EMAIL_NOTIFICATION", "TRUE"),
            ("REPORT_WHEN", "unprocessed"),
            ("REPORT_SENDER", "Onboarder <onboarder@example.com>"),
            (
                "REPORT_RECIPIENTS",
                "a@example.com, b@example.com,a@example.com",
            ),
        ])
        .unwrap();
        let eu = Region::parse("eu-west-1").unwrap();
        assert!(
            matches!(&c.regions, Regions::Listed(r) if r.len() == 2),
            "duplicates merged"
        );
        assert_eq!(c.detectors.get(&eu).map(String::as_str), Some("abc123"));
        assert_eq!(c.invitation_message, "Welcome");
        assert!(c.disable_email_notification);
        let ReportSettings::Send {
            when,
            sender,
            recipients,
        } = c.report
        else {
            panic!("report expected")
        };
        assert_eq!(when, ReportWhen::Unprocessed);
        assert_eq!(sender, "Onboarder <onboarder@example.com>");
        assert_eq!(recipients.len(), 2);
    }

    #[test]
    fn a_single_detector_id_applies_to_the_functions_region() {
        let c = with(&[("GUARDDUTY_DETECTOR_ID", "12abc34d567e8fa901bc2d34e56789f0")]).unwrap();
        let us = Region::parse("us-east-1").unwrap();
        assert_eq!(c.detectors.len(), 1);
        assert!(c.detectors.contains_key(&us));
    }

    #[test]
    fn never_needs_no_addresses() {
        let c = config(&[("AWS_REGION", "us-east-1"), ("REPORT_WHEN", "never")]).unwrap();
        assert_eq!(c.report, ReportSettings::Never);
    }

    #[test]
    fn region_names_are_checked() {
        for good in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "cn-north-1",
            "ap-southeast-5",
        ] {
            assert!(Region::parse(good).is_some(), "{good}");
        }
        for bad in [
            "",
            "us-east",
            "US-EAST-1",
            "us_east_1",
            "useast1",
            "us-east-1a",
            "u-east-1",
            "us--1",
        ] {
            assert!(Region::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn security_hub_the_member_role_and_all_enabled_regions_are_read() {
        let c = with(&[
            ("ENABLE_SECURITY_HUB", "TRUE"),
            ("MEMBER_ROLE_NAME", " AWSControlTowerExecution "),
            ("REGIONS", "all-enabled"),
            ("GUARDDUTY_DETECTOR_ID", "ap-east-1=abc123"),
        ])
        .unwrap();
        assert!(c.security_hub);
        assert_eq!(
            c.member_role.as_ref().map(RoleName::as_str),
            Some("AWSControlTowerExecution")
        );
        assert_eq!(c.regions, Regions::AllEnabled);
        // Any region may be enabled, so a detector id for any region is accepted.
        assert_eq!(c.detectors.len(), 1);
        let off = with(&[("ENABLE_SECURITY_HUB", "false"), ("MEMBER_ROLE_NAME", "")]).unwrap();
        assert!(!off.security_hub);
        assert_eq!(off.member_role, None, "empty is off");
    }

    #[test]
    fn bad_security_hub_and_member_role_values_say_how_to_fix_them() {
        for (vars, variable, hint) in [
            (
                &[("ENABLE_SECURITY_HUB", "yes")][..],
                "ENABLE_SECURITY_HUB",
                "true or false",
            ),
            (
                &[("MEMBER_ROLE_NAME", "arn:aws:iam::123456789012:role/Admin")][..],
                "MEMBER_ROLE_NAME",
                "the role's name alone",
            ),
            (
                &[("MEMBER_ROLE_NAME", "path/Role")][..],
                "MEMBER_ROLE_NAME",
                "not an IAM role name",
            ),
        ] {
            let e = with(vars).unwrap_err();
            assert_eq!(e.variable, variable);
            assert!(e.problem.contains(hint), "{e}");
        }
        assert!(RoleName::parse(&"r".repeat(64)).is_some());
        assert!(RoleName::parse(&"r".repeat(65)).is_none());
    }

    /// Every error names its variable and says what to do.
    #[test]
    fn every_invalid_value_fails_with_a_message_that_says_how_to_fix_it() {
        type Case = (
            &'static [(&'static str, &'static str)],
            &'static str,
            &'static str,
        );
        let cases: &[Case] = &[
            (
                &[("AWS_REGION", "mars")],
                "AWS_REGION",
                "set it to a region",
            ),
            (
                &[("REGIONS", "us-east-1,,eu-west-1")],
                "REGIONS",
                "empty item",
            ),
            (&[("REGIONS", "Frankfurt")], "REGIONS", "not a region name"),
            (
                &[("GUARDDUTY_DETECTOR_ID", "abc/123")],
                "GUARDDUTY_DETECTOR_ID",
                "not a detector id",
            ),
            (
                &[("GUARDDUTY_DETECTOR_ID", "eu-west-1=abc")],
                "GUARDDUTY_DETECTOR_ID",
                "add eu-west-1 to REGIONS",
            ),
            (
                &[("GUARDDUTY_DETECTOR_ID", "us-east-1=a,us-east-1=b")],
                "GUARDDUTY_DETECTOR_ID",
                "twice",
            ),
            (
                &[("GUARDDUTY_DETECTOR_ID", "us-east-1=a,b")],
                "GUARDDUTY_DETECTOR_ID",
                "region=id",
            ),
            (
                &[("GUARDDUTY_DETECTOR_ID", "moon=abc")],
                "GUARDDUTY_DETECTOR_ID",
                "not a region name",
            ),
            (
                &[("INVITATION_MESSAGE", "  ")],
                "INVITATION_MESSAGE",
                "unset it",
            ),
            (
                &[("DISABLE_EMAIL_NOTIFICATION", "yes")],
                "DISABLE_EMAIL_NOTIFICATION",
                "true or false",
            ),
            (
                &[("REPORT_WHEN", "sometimes")],
                "REPORT_WHEN",
                "always, unprocessed or never",
            ),
            (
                &[("REPORT_SENDER", "nobody")],
                "REPORT_SENDER",
                "SES-verified",
            ),
            (
                &[("REPORT_RECIPIENTS", "a@example.com,bad")],
                "REPORT_RECIPIENTS",
                "not an email address",
            ),
            (
                &[("REPORT_RECIPIENTS", " , ")],
                "REPORT_RECIPIENTS",
                "is empty",
            ),
        ];
        for (vars, variable, hint) in cases {
            let e = with(vars).expect_err(&format!("{vars:?} should fail"));
            assert_eq!(e.variable, *variable, "{vars:?}");
            assert!(e.to_string().starts_with(variable), "{e}");
            assert!(e.to_string().contains(hint), "{vars:?}: {e}");
        }
    }

    #[test]
    fn missing_values_fail_with_a_message_that_says_how_to_fix_it() {
        let e = config(&[("REPORT_WHEN", "never")]).unwrap_err();
        assert_eq!(e.variable, "REGIONS");
        assert!(e.problem.contains("set REGIONS"), "{e}");

        let e = config(&[
            ("REGIONS", "eu-west-1"),
            ("GUARDDUTY_DETECTOR_ID", "abc"),
            ("REPORT_WHEN", "never"),
        ])
        .unwrap_err();
        assert_eq!(e.variable, "GUARDDUTY_DETECTOR_ID");
        assert!(e.problem.contains("region=id"), "{e}");

        let e = config(&[
            ("AWS_REGION", "us-east-1"),
            ("REPORT_RECIPIENTS", "a@example.com"),
        ])
        .unwrap_err();
        assert_eq!(e.variable, "REPORT_SENDER");
        assert!(e.problem.contains("REPORT_WHEN=never"), "{e}");

        let e = config(&[
            ("AWS_REGION", "us-east-1"),
            ("REPORT_SENDER", "a@example.com"),
        ])
        .unwrap_err();
        assert_eq!(e.variable, "REPORT_RECIPIENTS");
        assert!(e.problem.contains("is not set"), "{e}");
    }

    #[test]
    fn more_than_fifty_recipients_are_refused() {
        let many: Vec<String> = (0..51).map(|i| format!("r{i}@example.com")).collect();
        let joined = many.join(",");
        let map: BTreeMap<&str, &str> = [
            ("AWS_REGION", "us-east-1"),
            ("REPORT_SENDER", "s@example.com"),
            ("REPORT_RECIPIENTS", joined.as_str()),
        ]
        .into_iter()
        .collect();
        let e = Config::from_lookup(|n| map.get(n).map(|v| v.to_string())).unwrap_err();
        assert_eq!(e.variable, "REPORT_RECIPIENTS");
        assert!(e.problem.contains("at most 50"), "{e}");
    }

    /// The documentation's configuration table is the user's view of [`VARIABLES`]: they must
    /// agree.
    #[test]
    fn the_documented_table_matches_the_variables() {
        let readme = include_str!("../docs/configuration.md");
        let rows: Vec<&str> = readme
            .lines()
            .filter(|l| l.starts_with("| `") && l.contains("` |"))
            .collect();
        for v in VARIABLES {
            let row = format!("| `{}` | {} | {} |", v.name, v.meaning, v.default);
            assert!(
                rows.contains(&row.as_str()),
                "docs/configuration.md lacks the row:\n{row}"
            );
        }
        let documented = rows
            .iter()
            .filter(|r| {
                VARIABLES
                    .iter()
                    .any(|v| r.starts_with(&format!("| `{}` |", v.name)))
            })
            .count();
        assert_eq!(documented, VARIABLES.len());
    }

    #[test]
    fn batch_concurrency_defaults_and_refuses_what_it_cannot_use() {
        let with = |value: &str| {
            Config::from_lookup(|name| match name {
                "BATCH_CONCURRENCY" => Some(value.to_owned()),
                "AWS_REGION" => Some("us-east-1".to_owned()),
                "REPORT_WHEN" => Some("never".to_owned()),
                _ => None,
            })
        };
        assert_eq!(
            with("").map(|c| c.batch_concurrency),
            Ok(crate::limits::BATCH_CONCURRENCY)
        );
        assert_eq!(with(" 16 ").map(|c| c.batch_concurrency), Ok(16));
        for bad in ["0", "51", "-1", "four", "2.5"] {
            let e = with(bad).expect_err(bad);
            assert_eq!(e.variable, "BATCH_CONCURRENCY");
            assert!(e.problem.contains("from 1 to 50"), "{bad}: {}", e.problem);
        }
    }

    #[test]
    fn member_concurrency_defaults_and_refuses_what_it_cannot_use() {
        let with = |value: &str| {
            Config::from_lookup(|name| match name {
                "MEMBER_CONCURRENCY" => Some(value.to_owned()),
                "AWS_REGION" => Some("us-east-1".to_owned()),
                "REPORT_WHEN" => Some("never".to_owned()),
                _ => None,
            })
        };
        assert_eq!(
            with("").map(|c| c.member_concurrency),
            Ok(crate::limits::MEMBER_CONCURRENCY)
        );
        assert_eq!(with("200").map(|c| c.member_concurrency), Ok(200));
        for bad in ["0", "201", "many"] {
            let e = with(bad).expect_err(bad);
            assert_eq!(e.variable, "MEMBER_CONCURRENCY");
            assert!(e.problem.contains("from 1 to 200"), "{bad}: {}", e.problem);
        }
    }

    #[test]
    fn metrics_go_to_their_namespace_or_nowhere() {
        let namespace = |c: Config| c.metrics.map(|n| n.as_str().to_owned());
        assert_eq!(
            with(&[]).map(namespace),
            Ok(Some(crate::metrics::DEFAULT_NAMESPACE.to_owned()))
        );
        assert_eq!(
            with(&[("METRICS_NAMESPACE", " Security/Onboarding ")]).map(namespace),
            Ok(Some("Security/Onboarding".to_owned()))
        );
        assert_eq!(
            with(&[("METRICS_NAMESPACE", "NONE")]).map(namespace),
            Ok(None)
        );
        let e = with(&[("METRICS_NAMESPACE", "AWS/GuardDuty")]).expect_err("AWS's");
        assert_eq!(e.variable, "METRICS_NAMESPACE");
        assert!(e.problem.contains("AWS/"), "{}", e.problem);
    }

    #[test]
    fn member_settings_switch_on_nothing_unchosen() {
        let c = with(&[]).unwrap();
        assert_eq!(c.member_settings, MemberSettings::default());
        let c = with(&[
            (
                "MEMBER_GUARDDUTY_FEATURES",
                " s3_data_events,RUNTIME_MONITORING, S3_DATA_EVENTS ",
            ),
            ("MEMBER_SECURITY_HUB_DEFAULT_STANDARDS", "true"),
        ])
        .unwrap();
        assert_eq!(
            c.member_settings.guardduty_features,
            ["S3_DATA_EVENTS", "RUNTIME_MONITORING"]
        );
        assert!(c.member_settings.security_hub_default_standards);
        assert_eq!(
            c.member_settings.describe(true),
            "GuardDuty: a detector with S3_DATA_EVENTS, RUNTIME_MONITORING (every other protection plan disabled); Security Hub: with its default standards"
        );
        assert_eq!(
            MemberSettings::default().describe(false),
            "GuardDuty: a detector with no protection plan (foundational detection only)"
        );
    }

    #[test]
    fn member_features_are_guardduty_s_and_never_both_runtime_monitorings() {
        let e = with(&[("MEMBER_GUARDDUTY_FEATURES", "S3_DATA_EVENTS,MALWARE")]).unwrap_err();
        assert_eq!(e.variable, "MEMBER_GUARDDUTY_FEATURES");
        assert!(
            e.problem.contains("\"MALWARE\"") && e.problem.contains("EBS_MALWARE_PROTECTION"),
            "{e}"
        );
        let e = with(&[(
            "MEMBER_GUARDDUTY_FEATURES",
            "RUNTIME_MONITORING,EKS_RUNTIME_MONITORING",
        )])
        .unwrap_err();
        assert!(e.problem.contains("give it alone"), "{e}");
        let e = with(&[("MEMBER_SECURITY_HUB_DEFAULT_STANDARDS", "yes")]).unwrap_err();
        assert_eq!(e.variable, "MEMBER_SECURITY_HUB_DEFAULT_STANDARDS");
    }
}

//! Serves the member-API stand-in on 127.0.0.1 until interrupted, for local runs.
//!
//! Usage: `standin [--port N] [--admin-account ID] [--detector REGION=ID]... [--latency-ms N]
//! [--security-hub REGION]... [--region-status REGION=STATUS]... [--sts-endpoint URL]
//! [--member SERVICE:REGION:ACCOUNT:STATUS]... [--rate-limit N] [--organization-accounts N]
//! [--serve-sts]`
//! It prints `listening on http://127.0.0.1:PORT` once it accepts requests. `GET /_standin/state`
//! answers its members, calls (each with `at_ms`, when it was answered, in milliseconds since the
//! start) and invitations as JSON.
//!
//! `--rate-limit N` lets at most N calls a second through for each service, operation and region
//! (a token bucket holding one second of calls, [`Standin::set_rate_limit`]); the others answer
//! 429 `TooManyRequestsException`, as a throttled service does (Organizations and STS in their
//! own words). Without it nothing is throttled.
//!
//! `--organization-accounts N` serves Organizations' `ListAccounts` and `DescribeAccount` for an
//! organisation of N generated accounts ([`Standin::serve_organization`]); `--serve-sts` serves
//! STS `AssumeRole`, whose keys then call as the role's account ([`Standin::serve_sts`]). Both
//! answer after `--latency-ms` and count against `--rate-limit`, like every call. A benchmark of
//! a 50,000-account organisation: `standin --latency-ms 50 --organization-accounts 50000
//! --serve-sts`, with `AWS_ENDPOINT_URL_ORGANIZATIONS` and `AWS_ENDPOINT_URL_STS` set to the
//! printed URL.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use standin::{Settings, Standin};

const USAGE: &str = "usage: standin [--port N] [--admin-account 12-DIGIT-ID] [--detector REGION=DETECTOR_ID]... [--latency-ms N]
               [--security-hub REGION]... [--region-status REGION=STATUS]... [--sts-endpoint URL]
               [--member SERVICE:REGION:ACCOUNT:STATUS]... [--rate-limit N]
               [--organization-accounts N] [--serve-sts] [--delegated-administrator]
               [--security-hub-member-limit N]
  --security-hub REGION         the administrator's Security Hub is enabled in REGION (repeatable)
  --delegated-administrator     with --organization-accounts: the administrator is the organisation's
                                delegated administrator for GuardDuty in every --detector region and
                                for Security Hub in every --security-hub region
  --security-hub-member-limit N the administrator's Security Hub member quota per region (past it,
                                CreateMembers answers 429 LimitExceededException)
  --region-status REGION=STATUS ListRegions answers STATUS for REGION: ENABLED, ENABLED_BY_DEFAULT,
                                DISABLED, ENABLING or DISABLING (repeatable); DISABLED refuses calls there
  --sts-endpoint URL            ask moto's STS at URL (http://HOST:PORT) who unknown access keys belong to
  --member SERVICE:REGION:ACCOUNT:STATUS
                                a member already in place, as an earlier run left it; SERVICE is
                                guardduty or securityhub (repeatable)
  --rate-limit N                let at most N calls a second through for each service, operation
                                and region (a token bucket holding one second of calls); the others
                                answer 429 TooManyRequestsException (Organizations: 400
                                TooManyRequestsException; STS: 400 Throttling). Default: no limit
  --organization-accounts N     serve Organizations ListAccounts and DescribeAccount for an
                                organisation of N generated accounts (ids 100000000000 + i, made
                                when asked); without it Organizations calls answer
                                AWSOrganizationsNotInUseException (use moto for Organizations)
  --serve-sts                   serve STS AssumeRole: each call issues a fresh ASIA... key that
                                calls as the role's account; without it STS calls are refused
                                (use moto, with --sts-endpoint)
GET /_standin/state answers members, invitations and every call with its time (at_ms, milliseconds
since the start, when it was answered)";

/// The opt-in statuses of Account's `RegionOptStatus`.
const REGION_STATUSES: &[&str] = &[
    "ENABLED",
    "ENABLED_BY_DEFAULT",
    "DISABLED",
    "ENABLING",
    "DISABLING",
];

#[derive(Debug)]
struct Args {
    settings: Settings,
    port: u16,
    latency: Duration,
    security_hub: Vec<String>,
    region_status: Vec<(String, String)>,
    sts_endpoint: Option<String>,
    /// (service, region, account, status)
    members: Vec<(String, String, String, String)>,
    /// Calls per second per service, operation and region; `None` for no limit.
    rate_limit: Option<u32>,
    /// How many accounts the organisation has; `None`: Organizations is not served.
    organization_accounts: Option<u32>,
    /// Whether STS `AssumeRole` is served.
    serve_sts: bool,
    /// Whether the administrator is the organisation's delegated administrator.
    delegated: bool,
    /// The administrator's Security Hub member quota per region.
    security_hub_member_limit: Option<usize>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut port = 0;
    let mut latency = Duration::ZERO;
    let mut security_hub = Vec::new();
    let mut region_status = Vec::new();
    let mut sts_endpoint = None;
    let mut members = Vec::new();
    let mut rate_limit = None;
    let mut organization_accounts = None;
    let mut serve_sts = false;
    let mut delegated = false;
    let mut security_hub_member_limit = None;
    let mut settings = Settings {
        admin_account: "123456789012".to_owned(),
        detectors: BTreeMap::new(),
    };
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--port" => {
                let v = value()?;
                port = v
                    .parse()
                    .map_err(|_| format!("--port {v:?} is not a port number"))?;
            }
            "--admin-account" => settings.admin_account = value()?,
            "--detector" => {
                let v = value()?;
                let (region, id) = v
                    .split_once('=')
                    .ok_or(format!("--detector {v:?} must be REGION=DETECTOR_ID"))?;
                settings.detectors.insert(region.to_owned(), id.to_owned());
            }
            "--latency-ms" => {
                let v = value()?;
                let ms = v
                    .parse()
                    .map_err(|_| format!("--latency-ms {v:?} is not a number of milliseconds"))?;
                latency = Duration::from_millis(ms);
            }
            "--security-hub" => security_hub.push(value()?),
            "--region-status" => {
                let v = value()?;
                let (region, status) = v
                    .split_once('=')
                    .ok_or(format!("--region-status {v:?} must be REGION=STATUS"))?;
                if !REGION_STATUSES.contains(&status) {
                    return Err(format!(
                        "--region-status {v:?}: the status must be one of {}",
                        REGION_STATUSES.join(", ")
                    ));
                }
                region_status.push((region.to_owned(), status.to_owned()));
            }
            "--sts-endpoint" => {
                let v = value()?;
                if !v.starts_with("http://") {
                    return Err(format!(
                        "--sts-endpoint {v:?} must be an http:// URL, such as moto's http://127.0.0.1:5000"
                    ));
                }
                sts_endpoint = Some(v);
            }
            "--member" => {
                let v = value()?;
                let parts: Vec<&str> = v.split(':').collect();
                let [service, region, account, status] = parts.as_slice() else {
                    return Err(format!(
                        "--member {v:?} must be SERVICE:REGION:ACCOUNT:STATUS, such as guardduty:us-east-1:444455556666:Resigned"
                    ));
                };
                if !["guardduty", "securityhub"].contains(service) {
                    return Err(format!(
                        "--member {v:?}: the service must be guardduty or securityhub"
                    ));
                }
                if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("--member {v:?}: the account must be 12 digits"));
                }
                members.push((
                    (*service).to_owned(),
                    (*region).to_owned(),
                    (*account).to_owned(),
                    (*status).to_owned(),
                ));
            }
            "--rate-limit" => {
                let v = value()?;
                match v.parse::<u32>() {
                    Ok(n) if n > 0 => rate_limit = Some(n),
                    _ => {
                        return Err(format!(
                            "--rate-limit {v:?} is not a number of calls per second (1 or more)"
                        ));
                    }
                }
            }
            "--organization-accounts" => {
                let v = value()?;
                let n = v.parse::<u32>().map_err(|_| {
                    format!(
                        "--organization-accounts {v:?} is not a number of accounts (0 to {})",
                        u32::MAX
                    )
                })?;
                organization_accounts = Some(n);
            }
            "--serve-sts" => serve_sts = true,
            "--delegated-administrator" => delegated = true,
            "--security-hub-member-limit" => {
                let v = value()?;
                security_hub_member_limit = Some(v.parse::<usize>().map_err(|_| {
                    format!("--security-hub-member-limit {v:?} is not a number of members")
                })?);
            }
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(Args {
        settings,
        port,
        latency,
        security_hub,
        region_status,
        sts_endpoint,
        members,
        rate_limit,
        organization_accounts,
        serve_sts,
        delegated,
        security_hub_member_limit,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let Args {
        settings,
        port,
        latency,
        security_hub,
        region_status,
        sts_endpoint,
        members,
        rate_limit,
        organization_accounts,
        serve_sts,
        delegated,
        security_hub_member_limit,
    } = match parse_args(std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let detector_regions: Vec<String> = settings.detectors.keys().cloned().collect();
    let standin = match Standin::start_on(settings, port).await {
        Ok(standin) => standin,
        Err(e) => {
            eprintln!("standin: cannot listen on 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    standin.set_latency(latency);
    standin.set_rate_limit(rate_limit);
    let hubs: Vec<&str> = security_hub.iter().map(String::as_str).collect();
    standin.enable_security_hub(&hubs);
    let regions: Vec<(&str, &str)> = region_status
        .iter()
        .map(|(r, s)| (r.as_str(), s.as_str()))
        .collect();
    standin.set_regions(&regions);
    if let Some(url) = &sts_endpoint {
        standin.set_sts_endpoint(url);
    }
    if let Some(accounts) = organization_accounts {
        standin.serve_organization(accounts);
    }
    if serve_sts {
        standin.serve_sts();
    }
    if delegated {
        let Some(accounts) = organization_accounts else {
            eprintln!("standin: --delegated-administrator needs --organization-accounts");
            return ExitCode::from(2);
        };
        let ids: Vec<String> = (0..accounts)
            .map(standin::organization_account_id)
            .collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let detectors: Vec<&str> = detector_regions.iter().map(String::as_str).collect();
        standin.delegate(&detectors, &ids);
        standin.delegate_security_hub(&hubs, &ids);
    }
    if let Some(limit) = security_hub_member_limit {
        standin.limit_security_hub_members(limit);
    }
    for (service, region, account, status) in &members {
        let email = format!("member-{account}@example.com");
        if service == "guardduty" {
            standin.put_member(region, account, &email, status);
        } else {
            standin.put_security_hub_member(region, account, &email, status);
        }
    }
    println!("listening on {}", standin.endpoint());
    let _ = std::io::stdout().flush();
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        parse_args(args.iter().map(|a| (*a).to_owned()))
    }

    #[test]
    fn repeatable_flags_add_up() {
        let args = parse(&[
            "--security-hub",
            "us-east-1",
            "--security-hub",
            "eu-west-1",
            "--region-status",
            "us-east-1=ENABLED_BY_DEFAULT",
            "--region-status",
            "ap-east-1=DISABLED",
            "--sts-endpoint",
            "http://127.0.0.1:5000",
            "--detector",
            "us-east-1=abc",
            "--member",
            "guardduty:us-east-1:444455556666:Resigned",
        ])
        .unwrap();
        assert_eq!(
            args.members,
            [(
                "guardduty".to_owned(),
                "us-east-1".to_owned(),
                "444455556666".to_owned(),
                "Resigned".to_owned()
            )]
        );
        assert_eq!(args.security_hub, ["us-east-1", "eu-west-1"]);
        assert_eq!(
            args.region_status,
            [
                ("us-east-1".to_owned(), "ENABLED_BY_DEFAULT".to_owned()),
                ("ap-east-1".to_owned(), "DISABLED".to_owned())
            ]
        );
        assert_eq!(args.sts_endpoint.as_deref(), Some("http://127.0.0.1:5000"));
        assert_eq!(args.settings.detectors["us-east-1"], "abc");
    }

    #[test]
    fn the_rate_limit_is_calls_per_second_and_off_by_default() {
        assert_eq!(parse(&[]).unwrap().rate_limit, None);
        assert_eq!(parse(&["--rate-limit", "10"]).unwrap().rate_limit, Some(10));
        for bad in ["0", "-1", "ten", "2.5"] {
            let e = parse(&["--rate-limit", bad]).unwrap_err();
            assert!(e.contains("calls per second"), "{bad}: {e}");
        }
        assert!(
            parse(&["--rate-limit"])
                .unwrap_err()
                .contains("needs a value")
        );
    }

    #[test]
    fn the_delegated_administrator_and_the_security_hub_quota_are_options() {
        let args = parse(&[
            "--organization-accounts",
            "3",
            "--delegated-administrator",
            "--security-hub-member-limit",
            "2",
        ])
        .unwrap();
        assert!(args.delegated);
        assert_eq!(args.security_hub_member_limit, Some(2));
        let plain = parse(&[]).unwrap();
        assert!(!plain.delegated);
        assert_eq!(plain.security_hub_member_limit, None);
        assert!(
            parse(&["--security-hub-member-limit", "ten"])
                .unwrap_err()
                .contains("is not a number of members")
        );
    }

    #[test]
    fn the_organisation_and_sts_are_served_only_when_asked() {
        let none = parse(&[]).unwrap();
        assert_eq!((none.organization_accounts, none.serve_sts), (None, false));
        let both = parse(&[
            "--organization-accounts",
            "50000",
            "--serve-sts",
            "--sts-endpoint",
            "http://127.0.0.1:5000",
        ])
        .unwrap();
        assert_eq!(both.organization_accounts, Some(50_000));
        assert!(both.serve_sts);
        assert_eq!(
            both.sts_endpoint.as_deref(),
            Some("http://127.0.0.1:5000"),
            "moto's STS still answers for keys the stand-in did not issue"
        );
        assert_eq!(
            parse(&["--organization-accounts", "0"])
                .unwrap()
                .organization_accounts,
            Some(0),
            "an organisation of no accounts"
        );
        for bad in ["-1", "many", "2.5", "4294967296", ""] {
            let e = parse(&["--organization-accounts", bad]).unwrap_err();
            assert!(e.contains("is not a number of accounts"), "{bad}: {e}");
        }
        assert!(
            parse(&["--organization-accounts"])
                .unwrap_err()
                .contains("needs a value")
        );
        assert!(
            parse(&["--serve-sts", "yes"])
                .unwrap_err()
                .contains("unknown argument \"yes\""),
            "--serve-sts takes no value"
        );
    }

    #[test]
    fn bad_values_are_refused_with_the_reason() {
        for (args, expected) in [
            (&["--region-status", "us-east-1"][..], "REGION=STATUS"),
            (&["--region-status", "us-east-1=ON"][..], "must be one of"),
            (&["--sts-endpoint", "https://sts.example"][..], "http://"),
            (&["--security-hub"][..], "needs a value"),
            (&["--bogus"][..], "unknown argument"),
            (
                &["--member", "guardduty:us-east-1:1234"][..],
                "SERVICE:REGION",
            ),
            (
                &["--member", "inspector:us-east-1:444455556666:Enabled"][..],
                "guardduty or securityhub",
            ),
            (
                &["--member", "guardduty:us-east-1:4444:Enabled"][..],
                "12 digits",
            ),
        ] {
            let e = parse(args).unwrap_err();
            assert!(e.contains(expected), "{args:?}: {e}");
        }
    }
}

//! The handler: reads the event, finds the accounts (validated and looked up, or the whole
//! organisation for a sweep), wires the adapters and hands them to the [`pipeline`], which owns
//! the flow, then delivers the report.
//!
//! A problem with one account is a row in the summary, never an error. The invocation fails
//! only when the event cannot be understood, when there is nothing it could work from (the
//! enabled regions or the organisation's accounts could not be listed), or when the report
//! cannot be sent; Lambda then retries and the dead-letter queue keeps the event. Before failing
//! on the report, its complete table is logged ([`crate::delivery`]), so nothing is lost.

use std::sync::atomic::{AtomicBool, Ordering};

use aws_config::SdkConfig;
use aws_lambda_events::sqs::SqsBatchResponse;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::OnceCell;
use tracing::{error, info, warn};

use crate::account::{AccountId, AccountNumber};
use crate::clock;
use crate::config::{Config, Regions};
use crate::delivery;
use crate::event::{self, Action, EventError};
use crate::limits::{Deadline, Limits};
use crate::mail::MailError;
use crate::member_role::MemberRole;
use crate::metrics;
use crate::org::{self, ListingError, MemberAccount};
use crate::outcome::{Inactive, RegionNotEnabled, Service, Standing, Summary};
use crate::pipeline::{self, Acceptance};
use crate::regions::{self, RegionsError};
use crate::request;
use crate::response::{Delivery, Response};
use crate::service::guardduty::Invitation;
use crate::service::{self, Administrations, MemberService, RegionClients};
use crate::text::redact_emails;

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("the event was not understood: {0}")]
    Event(#[from] EventError),
    #[error(transparent)]
    Regions(#[from] RegionsError),
    #[error(transparent)]
    Organization(#[from] ListingError),
    #[error(transparent)]
    Report(#[from] MailError),
}

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Diagnostic {
        let error_type = match error {
            HandlerError::Event(_) => "EventNotUnderstood",
            HandlerError::Regions(_) => "RegionsNotListed",
            HandlerError::Organization(_) => "OrganizationNotListed",
            HandlerError::Report(_) => "ReportNotSent",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: redact_emails(&error.to_string()),
        }
    }
}

/// What one invocation did: every account's outcome, kept whole (the [`Response`] is the
/// bounded view of it), and whether the report went out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub summary: Summary,
    /// Why nothing was done, for an event that needs no onboarding.
    pub ignored: Option<String>,
    pub report: Delivery,
    /// For a batch from the account-event queue: its records that could not be read.
    pub batch: Option<event::Batch>,
}

/// What the function answers: the run's [`Response`], or for a batch from the account-event
/// queue, Lambda's partial batch response (`{"batchItemFailures": [...]}`), which is all the
/// event source mapping reads; the batch's run is in the log.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    Run(Box<Response>),
    Batch(SqsBatchResponse),
}

impl From<Run> for Answer {
    fn from(mut run: Run) -> Answer {
        match run.batch.take() {
            Some(batch) => {
                let response = Response::from(run);
                info!(
                    trigger = %response.trigger,
                    records = batch.records,
                    records_failed = batch.failed.len(),
                    counts = ?response.counts,
                    report_sent = response.report.sent,
                    "batch answered: its records that could not be read go back to the queue"
                );
                Answer::Batch(batch.response())
            }
            None => Answer::Run(Box::new(Response::from(run))),
        }
    }
}

impl From<Run> for Response {
    fn from(run: Run) -> Response {
        match run.ignored {
            Some(reason) => Response::ignored(run.summary.trigger, run.summary.event_id, reason),
            None => Response::of(run.summary, run.report),
        }
    }
}

/// What a run works on: the accounts an event or a manual invoke names, the whole organisation,
/// or accounts that left it.
enum Work {
    Named(Vec<event::Entry>),
    Sweep,
    Departed(Vec<AccountNumber>),
}

/// The regions to work in, with their clients, and those `all-enabled` left out.
struct Regional {
    regions: Vec<RegionClients>,
    not_enabled: Vec<RegionNotEnabled>,
}

/// The function: its configuration and the SDK clients, built once at cold start.
pub struct Onboarder {
    config: Config,
    limits: Limits,
    /// The SDK configuration with the limits applied: member-account clients are built from it.
    sdk: SdkConfig,
    organizations: aws_sdk_organizations::Client,
    ses: aws_sdk_sesv2::Client,
    account: aws_sdk_account::Client,
    member_role: Option<MemberRole>,
    /// The regions: built at cold start when listed, on the first invocation for `all-enabled`.
    regional: OnceCell<Regional>,
    /// Whether this account is GuardDuty's delegated administrator, per region, once learnt.
    administrations: Administrations,
    /// Whether this process's last report could not be sent: the next run's report goes out
    /// even when it finds everything in place, since Lambda's retry of that invocation finds
    /// in place what it did.
    report_owed: AtomicBool,
}

impl Onboarder {
    /// Builds the clients: GuardDuty (and Security Hub when on) per configured region; SES,
    /// Organizations, Account and STS in the SDK configuration's region. Endpoints come from
    /// the SDK configuration, so the standard `AWS_ENDPOINT_URL_<SERVICE>` variables apply.
    pub fn new(config: Config, sdk: &SdkConfig) -> Onboarder {
        let limits = Limits {
            batch_concurrency: config.batch_concurrency,
            member_concurrency: config.member_concurrency,
            ..Limits::default()
        };
        Onboarder::with_limits(config, sdk, limits)
    }

    /// As [`Onboarder::new`], with other retry and timeout limits.
    pub fn with_limits(config: Config, sdk: &SdkConfig, limits: Limits) -> Onboarder {
        let sdk = limits.apply(sdk);
        let regional = match &config.regions {
            Regions::Listed(listed) => OnceCell::new_with(Some(Regional {
                regions: listed
                    .iter()
                    .map(|r| RegionClients::new(&sdk, r, config.security_hub, limits.max_attempts))
                    .collect(),
                not_enabled: Vec::new(),
            })),
            Regions::AllEnabled => OnceCell::new(),
        };
        let own_region = sdk
            .region()
            .map(|r| r.as_ref().to_owned())
            .unwrap_or_default();
        let member_role = config
            .member_role
            .clone()
            .map(|role| MemberRole::new(&sdk, role, &own_region, limits.max_attempts));
        Onboarder {
            organizations: aws_sdk_organizations::Client::new(&sdk),
            ses: aws_sdk_sesv2::Client::new(&sdk),
            account: aws_sdk_account::Client::new(&sdk),
            member_role,
            regional,
            administrations: Administrations::default(),
            report_owed: AtomicBool::new(false),
            sdk,
            config,
            limits,
        }
    }

    /// Handles one invocation: Lambda's entry point.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Answer, HandlerError> {
        self.run(event).await.map(Answer::from)
    }

    /// The regions and their clients: listed once per process for `all-enabled` (a failure is
    /// not kept, so the next invocation asks again).
    async fn regional(&self, deadline: Deadline) -> Result<&Regional, RegionsError> {
        self.regional
            .get_or_try_init(|| async {
                let found = regions::enabled(&self.account, deadline).await?;
                Ok(Regional {
                    regions: found
                        .regions
                        .iter()
                        .map(|r| {
                            RegionClients::new(
                                &self.sdk,
                                r,
                                self.config.security_hub,
                                self.limits.max_attempts,
                            )
                        })
                        .collect(),
                    not_enabled: found.not_enabled,
                })
            })
            .await
    }

    /// Handles one invocation and returns every account's outcome.
    pub async fn run(&self, event: LambdaEvent<Value>) -> Result<Run, HandlerError> {
        let (payload, context) = event.into_parts();
        let received = event::parse(payload).inspect_err(|e| {
            error!(error = %redact_emails(&e.to_string()), "event not understood");
        })?;
        info!(trigger = %received.trigger, event_id = ?received.event_id, dry_run = received.dry_run, "event received");
        let batch = received.batch;
        let kind = received.kind;
        let mut summary = Summary {
            trigger: received.trigger,
            event_id: received.event_id,
            dry_run: received.dry_run,
            accounts: 0,
            not_attempted: Vec::new(),
            regions: Vec::new(),
            inactive: Vec::new(),
            regions_not_enabled: Vec::new(),
            member_settings: self.member_role.as_ref().map(|_| {
                self.config
                    .member_settings
                    .describe(self.config.security_hub)
            }),
        };
        let work = match received.action {
            Action::Onboard(entries) => Work::Named(entries),
            Action::Sweep => Work::Sweep,
            Action::Departed(ids) => Work::Departed(ids),
            Action::Ignore(reason) => {
                // The reason quotes the event (a failure reason, a state): redacted, as every log.
                let reason = redact_emails(&reason);
                info!(trigger = %summary.trigger, reason = %reason, "nothing to onboard");
                return Ok(Run {
                    summary,
                    ignored: Some(reason),
                    report: Delivery::skipped("the event needs no onboarding"),
                    batch,
                });
            }
        };

        let own_account = AccountId::from_arn(&context.invoked_function_arn);
        match &own_account {
            Some(account) => {
                info!(function_account = %account, "the function's own account is set aside")
            }
            None => {
                warn!(arn = %context.invoked_function_arn, "the function's own account is not in its ARN; it cannot be set aside")
            }
        }
        let deadline = Deadline::from_lambda(context.deadline, self.limits.report_time);
        match deadline.time_left() {
            Some(left) => info!(seconds = left.as_secs(), "time for work before the report"),
            None if context.deadline > 0 => warn!(
                deadline_ms = context.deadline,
                "the Lambda deadline is already past as the invocation starts; working without one"
            ),
            None => {}
        }
        let regional = self.regional(deadline).await.inspect_err(|e| {
            error!(error = %e, "regions not listed");
        })?;
        summary.regions_not_enabled = regional.not_enabled.clone();

        let settings = service::Settings {
            sdk: &self.sdk,
            detectors: &self.config.detectors,
            invitation: Invitation {
                message: &self.config.invitation_message,
                disable_email_notification: self.config.disable_email_notification,
            },
            administrations: &self.administrations,
            member: &self.config.member_settings,
        };
        let services = regional
            .regions
            .iter()
            .flat_map(|clients| MemberService::of_region(clients, settings))
            .collect();
        let own_account = own_account.as_ref();
        match work {
            Work::Departed(ids) => {
                self.departures(&mut summary, services, deadline, &ids)
                    .await
            }
            Work::Named(entries) => {
                let request = request::validate(entries, own_account);
                let (ready, lookup_failed) =
                    org::complete(&self.organizations, request.targets, deadline).await;
                summary.not_attempted = request.rejected;
                summary.not_attempted.extend(lookup_failed);
                self.onboard(&mut summary, services, deadline, own_account, &ready, None)
                    .await;
            }
            Work::Sweep => {
                let listing = org::list_accounts(&self.organizations, own_account, deadline)
                    .await
                    .inspect_err(|e| error!(error = %e, "organisation not listed"))?;
                summary.not_attempted = listing.unusable;
                summary.inactive = listing.inactive;
                log_inactive(&summary.inactive);
                let backing = self.backing(&listing.active, &summary.inactive);
                self.onboard(
                    &mut summary,
                    services,
                    deadline,
                    own_account,
                    &listing.active,
                    Some(&backing),
                )
                .await;
            }
        }
        if let Some(management) = &self.config.management_account {
            pipeline::mark_management(&mut summary.regions, management.as_str());
        }

        let counts = summary.counts();
        info!(
            accounts = counts.accounts,
            regions = counts.regions,
            invited = counts.invited,
            enabled_by_organization = counts.enabled_by_organization,
            accepted = counts.accepted,
            already_member = counts.already_member,
            needs_action = counts.needs_action,
            would_do = counts.would_do,
            unprocessed = counts.unprocessed,
            regions_unusable = counts.regions_unusable,
            departed = counts.departed,
            removed = counts.removed,
            "onboarding done"
        );
        // Before the report, whose failure fails the invocation: the metrics are written anyway.
        self.write_metrics(kind, &summary);
        // A redelivered batch's earlier run may have failed to send its report, and this run finds
        // in place what that one did; so may a retry after this process failed to send one.
        let owed = batch.as_ref().is_some_and(|b| b.redelivered)
            || self.report_owed.load(Ordering::Relaxed);
        let sent = delivery::deliver(
            &self.ses,
            &self.config.report,
            &summary,
            counts,
            owed,
            deadline,
        )
        .await;
        if !matches!(sent, Ok(Delivery { sent: false, .. })) {
            self.report_owed.store(sent.is_err(), Ordering::Relaxed);
        }
        let report = sent?;
        Ok(Run {
            summary,
            ignored: None,
            report,
            batch,
        })
    }

    /// Onboards `ready` with every service-region, then accepts the invitations where a member
    /// role is configured; `backing`, for a sweep, also finds each region's members the
    /// organisation no longer backs.
    async fn onboard(
        &self,
        summary: &mut Summary,
        services: Vec<MemberService<'_>>,
        deadline: Deadline,
        own_account: Option<&AccountId>,
        ready: &[MemberAccount],
        backing: Option<&pipeline::Backing>,
    ) {
        summary.accounts = ready.len();
        let acceptance = self.member_role.as_ref().map(|role| Acceptance {
            role,
            concurrency: self.limits.member_concurrency,
            administrator: own_account.map(AccountId::as_str),
            management: self
                .config
                .management_account
                .as_ref()
                .map(AccountId::as_str),
        });
        summary.regions = Box::pin(pipeline::run(
            services,
            pipeline::Settings {
                deadline,
                sweep: backing.is_some(),
                dry_run: summary.dry_run,
                concurrency: self.limits.batch_concurrency,
                backing,
            },
            acceptance,
            ready,
        ))
        .await;
    }

    /// The memberships of accounts that left the organisation, in every service-region.
    async fn departures(
        &self,
        summary: &mut Summary,
        services: Vec<MemberService<'_>>,
        deadline: Deadline,
        ids: &[AccountNumber],
    ) {
        summary.accounts = ids.len();
        summary.regions = Box::pin(pipeline::departures(
            services,
            deadline,
            summary.dry_run,
            self.config.remove_departed_members,
            ids,
        ))
        .await;
    }

    /// What a sweep knows of the organisation beyond the accounts it onboards: its `ACTIVE`
    /// accounts (once, for every service-region) and the standing of the others.
    fn backing(&self, active: &[MemberAccount], inactive: &[Inactive]) -> pipeline::Backing {
        pipeline::Backing {
            active: active
                .iter()
                .filter_map(|a| AccountNumber::of(a.id.as_str()))
                .collect(),
            inactive: inactive
                .iter()
                .filter_map(|a| {
                    Some((
                        AccountNumber::of(&a.account_id)?,
                        Standing::of_state(&a.state),
                    ))
                })
                .collect(),
            remove: self.config.remove_departed_members,
        }
    }

    /// Writes the run's metrics to the log ([`metrics`]), where `METRICS_NAMESPACE` asks for them.
    fn write_metrics(&self, kind: event::Kind, summary: &Summary) {
        let Some(namespace) = &self.config.metrics else {
            return;
        };
        let services: &[Service] = if self.config.security_hub {
            &[Service::GuardDuty, Service::SecurityHub]
        } else {
            &[Service::GuardDuty]
        };
        if let Some(document) =
            metrics::document(namespace, kind, services, summary, clock::now_millis())
        {
            metrics::write(&mut std::io::stdout().lock(), &document);
        }
    }
}

fn log_inactive(inactive: &[Inactive]) {
    for account in inactive {
        info!(account_id = %account.account_id, state = %account.state, "not ACTIVE in Organizations; left alone");
    }
}

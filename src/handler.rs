//! The handler: event → validation → email lookup → GuardDuty in every region at once → report.
//!
//! A problem with one account is a row in the summary, never an error. The invocation fails
//! only when the event cannot be understood or the report cannot be sent; Lambda then retries
//! and the dead-letter queue keeps the event. Before failing on the report, the whole report is
//! logged, split into records that each fit CloudWatch Logs' event limit, so nothing is lost.

use aws_config::SdkConfig;
use futures::future::join_all;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;
use tracing::{error, info, warn};

use crate::account::{AccountId, redact_emails};
use crate::config::{Config, Region, ReportSettings, ReportWhen};
use crate::event::{self, Action, EventError};
use crate::guardduty::{self, Administrations, Invitation, RegionJob};
use crate::limits::{Deadline, Limits};
use crate::log_parts;
use crate::lookup;
use crate::mail::{self, MailError};
use crate::outcome::{Counts, Summary};
use crate::report::{self, Report};
use crate::request;
use crate::response::{Delivery, Response};

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("the event was not understood: {0}")]
    Event(#[from] EventError),
    #[error(transparent)]
    Report(#[from] MailError),
}

impl From<HandlerError> for Diagnostic {
    fn from(error: HandlerError) -> Diagnostic {
        let error_type = match error {
            HandlerError::Event(_) => "EventNotUnderstood",
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
}

impl From<Run> for Response {
    fn from(run: Run) -> Response {
        match run.ignored {
            Some(reason) => Response::ignored(run.summary.trigger, run.summary.event_id, reason),
            None => Response::of(run.summary, run.report),
        }
    }
}

/// The function: its configuration and the SDK clients, built once at cold start.
pub struct Onboarder {
    config: Config,
    limits: Limits,
    organizations: aws_sdk_organizations::Client,
    ses: aws_sdk_sesv2::Client,
    guardduty: Vec<(Region, aws_sdk_guardduty::Client)>,
    /// Whether this account is the delegated administrator, per region, once learnt.
    administrations: Administrations,
}

impl Onboarder {
    /// Builds the clients: one GuardDuty client per configured region; SES and Organizations in
    /// the SDK configuration's region. Endpoints come from the SDK configuration, so the
    /// standard `AWS_ENDPOINT_URL_<SERVICE>` variables apply.
    pub fn new(config: Config, sdk: &SdkConfig) -> Onboarder {
        Onboarder::with_limits(config, sdk, Limits::default())
    }

    /// As [`Onboarder::new`], with other retry and timeout limits.
    pub fn with_limits(config: Config, sdk: &SdkConfig, limits: Limits) -> Onboarder {
        let sdk = limits.apply(sdk);
        let guardduty = config
            .regions
            .iter()
            .map(|region| {
                let conf = aws_sdk_guardduty::config::Builder::from(&sdk)
                    .region(aws_sdk_guardduty::config::Region::new(
                        region.as_str().to_owned(),
                    ))
                    .build();
                (region.clone(), aws_sdk_guardduty::Client::from_conf(conf))
            })
            .collect();
        Onboarder {
            organizations: aws_sdk_organizations::Client::new(&sdk),
            ses: aws_sdk_sesv2::Client::new(&sdk),
            guardduty,
            administrations: Administrations::default(),
            config,
            limits,
        }
    }

    /// Handles one invocation: Lambda's entry point.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Response, HandlerError> {
        self.run(event).await.map(Response::from)
    }

    /// Handles one invocation and returns every account's outcome.
    pub async fn run(&self, event: LambdaEvent<Value>) -> Result<Run, HandlerError> {
        let (payload, context) = event.into_parts();
        let received = event::parse(payload).inspect_err(|e| {
            error!(error = %redact_emails(&e.to_string()), "event not understood");
        })?;
        info!(trigger = %received.trigger, event_id = ?received.event_id, "event received");

        let entries = match received.action {
            Action::Onboard(entries) => entries,
            Action::Ignore(reason) => {
                info!(trigger = %received.trigger, reason = %reason, "nothing to onboard");
                return Ok(Run {
                    summary: Summary {
                        trigger: received.trigger,
                        event_id: received.event_id,
                        not_attempted: Vec::new(),
                        regions: Vec::new(),
                    },
                    ignored: Some(reason),
                    report: Delivery::skipped("the event needs no onboarding"),
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
        let request = request::validate(entries, own_account.as_ref());
        let (ready, lookup_failed) =
            lookup::complete(&self.organizations, request.targets, deadline).await;
        let mut not_attempted = request.rejected;
        not_attempted.extend(lookup_failed);

        let invitation = Invitation {
            message: &self.config.invitation_message,
            disable_email_notification: self.config.disable_email_notification,
        };
        let regions = join_all(self.guardduty.iter().map(|(region, client)| {
            let job = RegionJob {
                client,
                region,
                configured_detector: self.config.detectors.get(region).map(String::as_str),
                administrations: &self.administrations,
                invitation,
                deadline,
            };
            guardduty::onboard_region(job, &ready)
        }))
        .await;

        let summary = Summary {
            trigger: received.trigger,
            event_id: received.event_id,
            not_attempted,
            regions,
        };
        let counts = summary.counts();
        info!(
            accounts = counts.accounts,
            regions = counts.regions,
            invited = counts.invited,
            enabled_by_organization = counts.enabled_by_organization,
            already_member = counts.already_member,
            needs_action = counts.needs_action,
            unprocessed = counts.unprocessed,
            "onboarding done"
        );
        let report = self.deliver(&summary, counts, deadline).await?;
        Ok(Run {
            summary,
            ignored: None,
            report,
        })
    }

    async fn deliver(
        &self,
        summary: &Summary,
        counts: Counts,
        deadline: Deadline,
    ) -> Result<Delivery, MailError> {
        let ReportSettings::Send {
            when,
            sender,
            recipients,
        } = &self.config.report
        else {
            return Ok(Delivery::skipped("REPORT_WHEN is never"));
        };
        if *when == ReportWhen::Unprocessed && counts.attention() == 0 {
            return Ok(Delivery::skipped(
                "REPORT_WHEN is unprocessed, every account was processed and no member needs action",
            ));
        }
        let rendered = report::render(summary);
        let sent = deadline
            .report(mail::send(&self.ses, sender, recipients, &rendered))
            .await
            .unwrap_or_else(|| {
                Err(MailError {
                    reason: "SES did not answer before the Lambda timeout".to_owned(),
                })
            });
        match sent {
            Ok(message_id) => {
                info!(message_id = %message_id, "report sent");
                Ok(Delivery {
                    sent: true,
                    message_id: Some(message_id),
                    reason: None,
                })
            }
            Err(e) => {
                log_unsent(&e, &rendered);
                Err(e)
            }
        }
    }
}

/// Logs the whole report that could not be sent, in parts that each fit one log event.
fn log_unsent(error: &MailError, report: &Report) {
    let text = redact_emails(&report.text);
    let parts = log_parts::split(&text, log_parts::MAX_PART_BYTES);
    let total = parts.len();
    error!(error = %error, subject = %report.subject, parts = total, "report not sent; the full report follows in {total} log records");
    for (i, part) in parts.iter().enumerate() {
        let part_number = i + 1;
        error!(
            part = part_number,
            parts = total,
            subject = %report.subject,
            report = %part,
            "report not sent: part {part_number} of {total} of the full report"
        );
    }
}

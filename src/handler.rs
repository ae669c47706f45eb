//! The handler: event → validation → email lookup → GuardDuty in every region at once → report.
//!
//! A problem with one account is a row in the summary, never an error. The invocation fails
//! only when the event cannot be understood or the report cannot be sent; Lambda then retries
//! and the dead-letter queue keeps the event. Before failing on the report, the whole summary
//! is logged as one record, so nothing is lost.

use aws_config::SdkConfig;
use futures::future::join_all;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Serialize;
use serde_json::Value;
use tracing::{error, info, warn};

use crate::account::{AccountId, redact_emails};
use crate::config::{Config, Region, ReportSettings, ReportWhen};
use crate::event::{self, Action, EventError};
use crate::guardduty::{self, Invitation};
use crate::limits::{Deadline, Limits};
use crate::lookup;
use crate::mail::{self, MailError};
use crate::outcome::{AccountOutcome, Counts, RegionOutcome, Summary};
use crate::report;
use crate::request;

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

/// Whether the report went out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub sent: bool,
    /// SES's message id, when sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Why it was not sent, when not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Delivery {
    fn skipped(reason: &str) -> Delivery {
        Delivery {
            sent: false,
            message_id: None,
            reason: Some(reason.to_owned()),
        }
    }
}

/// The handler's JSON answer: every account's outcome per region, and the report's delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Response {
    pub trigger: String,
    pub event_id: Option<String>,
    /// Why nothing was done, for an event that needs no onboarding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
    pub counts: Counts,
    /// Accounts stopped before any region: the validate and lookup steps.
    pub not_attempted: Vec<AccountOutcome>,
    pub regions: Vec<RegionOutcome>,
    pub report: Delivery,
}

/// The function: its configuration and the SDK clients, built once at cold start.
pub struct Onboarder {
    config: Config,
    limits: Limits,
    organizations: aws_sdk_organizations::Client,
    ses: aws_sdk_sesv2::Client,
    guardduty: Vec<(Region, aws_sdk_guardduty::Client)>,
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
            config,
            limits,
        }
    }

    /// Handles one invocation.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Response, HandlerError> {
        let (payload, context) = event.into_parts();
        let received = event::parse(payload).inspect_err(|e| {
            error!(error = %redact_emails(&e.to_string()), "event not understood");
        })?;
        info!(trigger = %received.trigger, event_id = ?received.event_id, "event received");

        let entries = match received.action {
            Action::Onboard(entries) => entries,
            Action::Ignore(reason) => {
                info!(trigger = %received.trigger, reason = %reason, "nothing to onboard");
                return Ok(Response {
                    trigger: received.trigger,
                    event_id: received.event_id,
                    ignored: Some(reason),
                    counts: Counts::default(),
                    not_attempted: Vec::new(),
                    regions: Vec::new(),
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
        let deadline = Deadline::from_lambda(context.deadline, self.limits.reserve);
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
            let detector = self.config.detectors.get(region).map(String::as_str);
            guardduty::onboard_region(client, region, detector, &ready, invitation, deadline)
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
            already_member = counts.already_member,
            unprocessed = counts.unprocessed,
            "onboarding done"
        );
        let report = self.deliver(&summary).await?;
        Ok(Response {
            trigger: summary.trigger,
            event_id: summary.event_id,
            ignored: None,
            counts,
            not_attempted: summary.not_attempted,
            regions: summary.regions,
            report,
        })
    }

    async fn deliver(&self, summary: &Summary) -> Result<Delivery, MailError> {
        let ReportSettings::Send {
            when,
            sender,
            recipients,
        } = &self.config.report
        else {
            return Ok(Delivery::skipped("REPORT_WHEN is never"));
        };
        if *when == ReportWhen::Unprocessed && summary.counts().unprocessed == 0 {
            return Ok(Delivery::skipped(
                "REPORT_WHEN is unprocessed and every account was processed",
            ));
        }
        let rendered = report::render(summary);
        match mail::send(&self.ses, sender, recipients, &rendered).await {
            Ok(message_id) => {
                info!(message_id = %message_id, "report sent");
                Ok(Delivery {
                    sent: true,
                    message_id: Some(message_id),
                    reason: None,
                })
            }
            Err(e) => {
                let full = serde_json::to_string(summary)
                    .unwrap_or_else(|j| format!("(the summary could not be serialised: {j})"));
                error!(error = %e, subject = %rendered.subject, report = %redact_emails(&full), "report not sent; the full report is in this record");
                Err(e)
            }
        }
    }
}

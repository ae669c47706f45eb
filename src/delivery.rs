//! Delivering the report: whether `REPORT_WHEN` asks for it, sending it through SES within the
//! time the Lambda deadline leaves, and, when it cannot be sent, logging the complete table in
//! records that each fit CloudWatch Logs' event limit, so that nothing is lost.

use tracing::{error, info};

use crate::config::{ReportSettings, ReportWhen};
use crate::limits::Deadline;
use crate::log_parts;
use crate::mail::{self, MailError};
use crate::outcome::{Counts, Summary};
use crate::report::{self, Report};
use crate::response::Delivery;
use crate::text::redact_emails;

/// Why `REPORT_WHEN` sends no report for a run with these `counts`, or `None` to send it. A dry
/// run's report is always sent (a person asked for it), and so is an `owed` one: an earlier run
/// of the same work could not send its report, and this run finds in place what that one did.
pub fn skipped(
    when: ReportWhen,
    counts: &Counts,
    dry_run: bool,
    owed: bool,
) -> Option<&'static str> {
    if dry_run {
        return None;
    }
    match when {
        ReportWhen::Always => None,
        ReportWhen::Changes if counts.changed() + counts.attention() == 0 && !owed => Some(
            "REPORT_WHEN is changes, and the run found everything in place: nothing was created, invited, enabled or accepted, and nothing needs a person",
        ),
        ReportWhen::Unprocessed if counts.attention() == 0 => Some(
            "REPORT_WHEN is unprocessed, every account was processed and no member needs action",
        ),
        ReportWhen::Changes | ReportWhen::Unprocessed => None,
    }
}

/// Sends the report of `summary` as `settings` say, or says why not. An `Err` means it could not
/// be sent: the complete table is in the log by then.
pub async fn deliver(
    ses: &aws_sdk_sesv2::Client,
    settings: &ReportSettings,
    summary: &Summary,
    counts: Counts,
    owed: bool,
    deadline: Deadline,
) -> Result<Delivery, MailError> {
    let ReportSettings::Send {
        when,
        sender,
        recipients,
    } = settings
    else {
        return Ok(Delivery::skipped("REPORT_WHEN is never"));
    };
    if let Some(reason) = skipped(*when, &counts, summary.dry_run, owed) {
        info!(reason, "report not sent");
        return Ok(Delivery::skipped(reason));
    }
    let rendered = report::render(summary);
    let sent = deadline
        .report(mail::send(ses, sender, recipients, &rendered))
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
            log_unsent(&e, &rendered, summary);
            Err(e)
        }
    }
}

/// Logs the report that could not be sent: its subject, then the complete table (every row, as
/// the CSV attachment has it), in parts that each fit one log event.
fn log_unsent(error: &MailError, report: &Report, summary: &Summary) {
    let text = redact_emails(&report::csv::table(&report::rows::Table::new(summary)));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_when_sends_what_it_says() {
        let quiet = Counts::default();
        let invited = Counts {
            invited: 1,
            ..Counts::default()
        };
        let attention = Counts {
            unprocessed: 1,
            ..Counts::default()
        };
        use ReportWhen::*;
        // (when, counts, dry run, owed) → sent?
        let cases = [
            (Changes, &quiet, false, false, false),
            (Changes, &invited, false, false, true),
            (Changes, &attention, false, false, true),
            (Changes, &quiet, true, false, true),
            (Changes, &quiet, false, true, true),
            (Unprocessed, &invited, false, false, false),
            (Unprocessed, &attention, false, false, true),
            (Unprocessed, &quiet, true, false, true),
            (Always, &quiet, false, false, true),
        ];
        for (when, counts, dry_run, owed, sent) in cases {
            assert_eq!(
                skipped(when, counts, dry_run, owed).is_none(),
                sent,
                "{when:?} {counts:?} dry_run={dry_run} owed={owed}"
            );
        }
    }
}

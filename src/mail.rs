//! Sends the report with SES v2 `SendEmail`: one message, a text part and an HTML part, and the
//! complete table as an attachment when the report has one.

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{
    Attachment, AttachmentContentDisposition, AttachmentContentTransferEncoding, Body, Content,
    Destination, EmailContent, Message,
};

use crate::account::Email;
use crate::aws_error::IntoAwsError;
use crate::report::Report;
use crate::text::redact_emails;

/// The report could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the report could not be sent with SES SendEmail: {reason}. Check that REPORT_SENDER is an SES-verified identity in the function's region and, while the SES account is in the sandbox, that the recipients are verified too"
)]
pub struct MailError {
    pub reason: String,
}

fn utf8(data: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| MailError {
            reason: format!("the message could not be built: {e}"),
        })
}

/// Sends the report; returns SES's message id.
pub async fn send(
    client: &Client,
    sender: &str,
    recipients: &[Email],
    report: &Report,
) -> Result<String, MailError> {
    let attachments = match &report.attachment {
        Some(file) => vec![
            Attachment::builder()
                .file_name(&file.file_name)
                .content_type(file.content_type)
                .content_disposition(AttachmentContentDisposition::Attachment)
                .content_transfer_encoding(AttachmentContentTransferEncoding::Base64)
                .raw_content(Blob::new(file.data.clone()))
                .build()
                .map_err(|e| MailError {
                    reason: format!("the attachment could not be built: {e}"),
                })?,
        ],
        None => Vec::new(),
    };
    let message = Message::builder()
        .subject(utf8(&report.subject)?)
        .body(
            Body::builder()
                .text(utf8(&report.text)?)
                .html(utf8(&report.html)?)
                .build(),
        )
        .set_attachments((!attachments.is_empty()).then_some(attachments))
        .build();
    let destination = Destination::builder()
        .set_to_addresses(Some(
            recipients.iter().map(|r| r.as_str().to_owned()).collect(),
        ))
        .build();
    let output = client
        .send_email()
        .from_email_address(sender)
        .destination(destination)
        .content(EmailContent::builder().simple(message).build())
        .send()
        .await
        // SES quotes addresses back ("not verified a@b.c"); this text reaches the logs.
        .map_err(|e| MailError {
            reason: redact_emails(&e.into_aws_error().to_string()),
        })?;
    Ok(output
        .message_id()
        .unwrap_or("(SES gave no message id)")
        .to_owned())
}

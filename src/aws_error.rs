//! What a failed AWS call said, kept typed: the service's error code and message apart, or, when
//! no service answered, what kind of failure it was and its chain of causes. Every module decides
//! on these fields; only [`fmt::Display`] turns them into words, for people.

use std::fmt;

use aws_runtime::retries::classifiers::THROTTLING_ERRORS;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// What kind of failure, where the SDK tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The service answered with an error.
    Service,
    /// No answer in time: a connect, attempt or operation timeout.
    Timeout,
    /// The request could not be sent or its answer not read (DNS, TLS, a refused connection).
    Dispatch,
    /// The SDK could not build the request, or failed otherwise.
    Other,
}

/// A failed AWS call, after the SDK's retries. Two errors are the same when a person reading them
/// would see the same: the same kind, code and message; the causes count only where there is no
/// code (they carry what varies from call to call, such as the request id, and would split one
/// reason into many groups in the response and the report).
#[derive(Debug, Clone)]
pub struct AwsError {
    kind: Kind,
    code: Option<String>,
    message: Option<String>,
    /// Every cause, in words: shown when there is no code.
    causes: String,
}

/// Whether an error code is a throttle: the SDK's own list of throttling codes
/// (`aws_runtime::retries::classifiers::THROTTLING_ERRORS`, the list its standard retry uses), which
/// has Security Hub's `LimitExceededException`, its 429 for "beyond the current account or
/// throttling limits".
pub fn is_throttling_code(code: &str) -> bool {
    THROTTLING_ERRORS.contains(&code)
}

/// Whether an answer is a throttle: its code is a throttling code ([`is_throttling_code`]),
/// unless it is a `LimitExceededException` whose message speaks of a quota rather than a rate.
/// Security Hub models one `LimitExceededException` for both ("beyond the current Amazon Web
/// Services account or throttling limits. The error code describes the limit exceeded") and
/// publishes no message texts, so a quota is recognised only where the message says so: a
/// message that names neither is a throttle, and paced. A quota reached is not a rate to wait
/// out: it is reported, not resent.
pub fn is_throttle(code: &str, message: Option<&str>) -> bool {
    is_throttling_code(code) && !(code == LIMIT_EXCEEDED && message.is_some_and(speaks_of_quota))
}

const LIMIT_EXCEEDED: &str = "LimitExceededException";

/// Words of a message about a quota, and of one about a rate (which wins).
const QUOTA_WORDS: &[&str] = &["maximum number", "quota", "member account", "limit of"];
const RATE_WORDS: &[&str] = &["rate", "throttl", "too many requests", "slow down"];

fn speaks_of_quota(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    QUOTA_WORDS.iter().any(|w| message.contains(w))
        && !RATE_WORDS.iter().any(|w| message.contains(w))
}

impl PartialEq for AwsError {
    fn eq(&self, other: &AwsError) -> bool {
        self.kind == other.kind
            && self.code == other.code
            && self.message == other.message
            && (self.code.is_some() || self.causes == other.causes)
    }
}

impl Eq for AwsError {}

impl std::hash::Hash for AwsError {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
        self.code.hash(state);
        self.message.hash(state);
        if self.code.is_none() {
            self.causes.hash(state);
        }
    }
}

impl AwsError {
    /// An error a service answered with: its code and message.
    pub fn service(code: &str, message: Option<&str>) -> AwsError {
        AwsError::from_metadata(Kind::Service, code_and_message(code, message))
    }

    fn from_metadata(kind: Kind, meta: ErrorMetadata) -> AwsError {
        AwsError {
            kind,
            code: meta.code().map(str::to_owned),
            message: meta.message().map(str::to_owned),
            causes: DisplayErrorContext(&meta).to_string(),
        }
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The service's error code (`x-amzn-ErrorType` or the body's), where it gave one.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The service's message, where it gave one.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// Whether the service answered with this error code.
    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// Whether the message, where there is one, contains `phrase`: for the few cases where a
    /// service gives one code to several conditions and only its message tells them apart.
    pub fn says(&self, phrase: &str) -> bool {
        self.message.as_deref().is_some_and(|m| m.contains(phrase))
    }

    /// Whether the service throttled the call ([`is_throttle`]).
    pub fn is_throttling(&self) -> bool {
        self.code
            .as_deref()
            .is_some_and(|code| is_throttle(code, self.message.as_deref()))
    }

    /// Whether the service refused because a quota is reached: a `LimitExceededException` that
    /// is not a throttle ([`is_throttle`]).
    pub fn is_quota(&self) -> bool {
        self.is(LIMIT_EXCEEDED) && !self.is_throttling()
    }

    /// Whether the error refuses the whole region rather than this call: the region is not
    /// enabled for the account (`UnrecognizedClientException`, `InvalidClientTokenId`), a policy
    /// denies the service there (`AccessDenied…`), or the service is off in the administrator
    /// account (Security Hub's `InvalidAccessException`).
    pub fn refuses_region(&self) -> bool {
        self.code.as_deref().is_some_and(|code| {
            code.starts_with("AccessDenied")
                || matches!(
                    code,
                    "UnrecognizedClientException"
                        | "InvalidClientTokenId"
                        | "InvalidAccessException"
                )
        })
    }
}

fn code_and_message(code: &str, message: Option<&str>) -> ErrorMetadata {
    let mut meta = ErrorMetadata::builder().code(code);
    if let Some(message) = message {
        meta = meta.message(message);
    }
    meta.build()
}

/// `Code: message` for a service error; the full chain of causes otherwise.
impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.code, &self.message) {
            (Some(code), Some(message)) => write!(f, "{code}: {message}"),
            (Some(code), None) => f.write_str(code),
            _ => f.write_str(&self.causes),
        }
    }
}

/// An error that becomes an [`AwsError`]: what the SDK's operations return.
pub trait IntoAwsError {
    fn into_aws_error(self) -> AwsError;
}

impl<E> IntoAwsError for SdkError<E, Response>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn into_aws_error(self) -> AwsError {
        let kind = match &self {
            SdkError::ServiceError(_) | SdkError::ResponseError(_) => Kind::Service,
            SdkError::TimeoutError(_) => Kind::Timeout,
            SdkError::DispatchFailure(failure) if failure.is_timeout() => Kind::Timeout,
            SdkError::DispatchFailure(_) => Kind::Dispatch,
            _ => Kind::Other,
        };
        AwsError {
            kind,
            code: self.code().map(str::to_owned),
            message: self.message().map(str::to_owned),
            causes: DisplayErrorContext(&self).to_string(),
        }
    }
}

/// The metadata alone, as a service's answer.
impl IntoAwsError for ErrorMetadata {
    fn into_aws_error(self) -> AwsError {
        AwsError::from_metadata(Kind::Service, self)
    }
}

/// Why a call gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CallError {
    /// The service or the SDK failed, after the retries.
    Failed(AwsError),
    /// No time was left to start it.
    NotStarted,
    /// It was still running when the time for work ran out, and was abandoned.
    CutOff,
}

impl CallError {
    /// The AWS error, when the call got as far as one.
    pub fn aws(&self) -> Option<&AwsError> {
        match self {
            CallError::Failed(e) => Some(e),
            CallError::NotStarted | CallError::CutOff => None,
        }
    }

    /// Whether the service answered with this error code.
    pub fn is(&self, code: &str) -> bool {
        self.aws().is_some_and(|e| e.is(code))
    }

    /// See [`AwsError::is_throttling`].
    pub fn is_throttling(&self) -> bool {
        self.aws().is_some_and(AwsError::is_throttling)
    }

    /// See [`AwsError::refuses_region`].
    pub fn refuses_region(&self) -> bool {
        self.aws().is_some_and(AwsError::refuses_region)
    }
}

/// Why an account was not attempted.
pub const DEADLINE_REACHED: &str = "not attempted: the invocation was about to reach its Lambda timeout; invoke the function again for this account";

/// Why a call's accounts have no answer: the call was still running when the report had to start.
pub const CUT_OFF: &str = "not finished: the call was still running when the invocation had to send its report before the Lambda timeout, so it was abandoned (it may or may not have taken effect); invoke the function again for this account";

/// The service's words alone, or [`DEADLINE_REACHED`] or [`CUT_OFF`].
impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Failed(e) => e.fmt(f),
            CallError::NotStarted => f.write_str(DEADLINE_REACHED),
            CallError::CutOff => f.write_str(CUT_OFF),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_messages_stay_apart_and_read_as_one_line() {
        let denied = AwsError::service("AccessDeniedException", Some("no"));
        assert_eq!(denied.code(), Some("AccessDeniedException"));
        assert_eq!(denied.message(), Some("no"));
        assert_eq!(denied.to_string(), "AccessDeniedException: no");
        assert!(denied.refuses_region());
        assert!(!denied.is_throttling());
        assert_eq!(
            AwsError::service("ThrottlingException", None).to_string(),
            "ThrottlingException"
        );
    }

    #[test]
    fn throttling_codes_are_recognised_by_code_not_by_message() {
        assert!(
            AwsError::service("TooManyRequestsException", Some("Rate exceeded")).is_throttling()
        );
        assert!(AwsError::service("LimitExceededException", None).is_throttling());
        // A quota is not a throttle; a message about a rate always is.
        let quota = AwsError::service(
            "LimitExceededException",
            Some(
                "The request was rejected because the maximum number of member accounts has been reached.",
            ),
        );
        assert!(!quota.is_throttling() && quota.is_quota());
        let rate = AwsError::service(
            "LimitExceededException",
            Some("Rate exceeded: the maximum number of requests per second"),
        );
        assert!(rate.is_throttling() && !rate.is_quota());
        assert!(!AwsError::service("TooManyRequestsException", Some("quota")).is_quota());
        assert!(
            !AwsError::service("BadRequestException", Some("The request is rejected"))
                .is_throttling()
        );
        assert!(
            !AwsError::service("AccessDeniedException", Some("TooManyRequestsException"))
                .is_throttling()
        );
    }

    #[test]
    fn the_deadline_s_errors_read_as_their_advice() {
        assert_eq!(CallError::NotStarted.to_string(), DEADLINE_REACHED);
        assert_eq!(CallError::CutOff.to_string(), CUT_OFF);
        assert!(!CallError::CutOff.refuses_region());
    }

    #[test]
    fn the_same_code_and_message_are_the_same_error_whatever_the_request_id() {
        let with_id = |id: &str| {
            AwsError::from_metadata(
                Kind::Service,
                ErrorMetadata::builder()
                    .code("InternalServerErrorException")
                    .message("The request failed due to an internal error.")
                    .custom("aws_request_id", id)
                    .build(),
            )
        };
        let (a, b) = (with_id("1"), with_id("2"));
        assert_ne!(a.causes, b.causes, "the causes carry the request id");
        assert_eq!(a, b);
        let hash = |e: &AwsError| {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            e.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&a), hash(&b));
        assert_ne!(
            a,
            AwsError::service("InternalServerErrorException", Some("other"))
        );
    }
}

//! What to do about a reason that is not any one service's: the validate and lookup steps, the
//! member role, and the errors every AWS service shares (denied, throttled, unreachable, out of
//! time). It reads [`Reason`]s and the error codes they carry, never the words another module
//! wrote.

use crate::aws_error::{AwsError, CallError, Kind};
use crate::outcome::{Reason, Step};

/// The action of the first phrase of `table` that `text` contains: for a service's own
/// per-account result texts, which the service gives as free text.
pub fn by_phrase(table: &[(&str, &'static str)], text: &str) -> Option<&'static str> {
    table
        .iter()
        .find(|(phrase, _)| text.contains(phrase))
        .map(|(_, action)| *action)
}

const LATER: &str =
    "Still throttled after the SDK's retries; invoke the function again for these accounts later.";
const FAILED: &str = "The service failed after the SDK's retries; invoke the function again for these accounts later.";

/// What to do about a reason no service claims, where it is a known one.
pub fn result_action(step: Step, reason: &Reason) -> Option<&'static str> {
    if step == Step::Validate {
        return Some("Correct the event's entry and invoke the function again.");
    }
    match reason {
        Reason::NotAccepted(inner) => result_action(step, inner),
        Reason::AssumeRole {
            error: CallError::Failed(_),
            ..
        }
        | Reason::NoCredentials { .. } => Some(
            "Check that MEMBER_ROLE_NAME exists in the member account and trusts the administrator account; the invitation stays pending and the member can accept it in the console.",
        ),
        Reason::ManagementNotEntered => Some(
            "Accept the invitation yourself in the management account (the GuardDuty or Security Hub console, in this region): the function never enters that account.",
        ),
        Reason::NoInvitation { .. } => Some(
            "Nothing to accept in the member account: look at the member's status in the administrator's console; a later run invites it again if it is at Created.",
        ),
        Reason::NoEmail { .. } => Some(
            "Invoke the function manually with the account's email: {\"accounts\":[{\"accountId\":\"...\",\"email\":\"...\"}]}.",
        ),
        _ => reason
            .call_error()
            .and_then(CallError::aws)
            .and_then(error_action),
    }
}

/// What to do about an error any AWS service may answer with, by its code or kind.
fn error_action(error: &AwsError) -> Option<&'static str> {
    // A request larger than the API takes ("Max allowed length is 50").
    if error.says("Max allowed length") {
        return Some("A call carried too many accounts; please report this as a bug.");
    }
    let code = error.code().unwrap_or_default();
    Some(match code {
        "AccountNotFoundException" => {
            "Check the account id: it must be an account of this organisation."
        }
        "AWSOrganizationsNotInUseException" => {
            "The function's account must belong to the organisation, as its management account or a delegated administrator."
        }
        "UnrecognizedClientException" => {
            "The region is not enabled for the administrator account: enable it (Account > AWS Regions), or remove it from REGIONS."
        }
        "InvalidClientTokenId" => {
            "The region is not enabled for the account: enable it (Account > AWS Regions), or leave it out."
        }
        _ if code.starts_with("AccessDenied") && error.says("service control policy") => {
            "A service control policy denies this call: exempt the function's role (or the member role) in the policy, or leave the region out."
        }
        _ if code.starts_with("AccessDenied") => {
            "Grant the role the permission named in the message; to read emails from Organizations the function's account must be the management account or a delegated administrator."
        }
        _ if error.is_quota() => {
            "A service quota is reached (the message names it): raise it in Service Quotas or free some of it, then invoke the function again for these accounts."
        }
        _ if error.is_throttling() => LATER,
        _ if code.starts_with("InternalServerError") || code == "InternalException" => FAILED,
        _ => match error.kind() {
            Kind::Dispatch => {
                "The service could not be reached; check the network path (VPC endpoints, NAT) and invoke the function again."
            }
            Kind::Timeout => {
                "The service did not answer in time; invoke the function again for these accounts later."
            }
            Kind::Service | Kind::Other => return None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(operation: &'static str, code: &str, message: &str) -> Reason {
        Reason::call(
            operation,
            CallError::Failed(AwsError::service(code, Some(message))),
        )
    }

    #[test]
    fn known_reasons_have_actions_and_unknown_ones_do_not() {
        assert!(result_action(Step::Validate, &Reason::Invalid("anything".into())).is_some());
        assert!(
            result_action(
                Step::Check,
                &failed("GetMembers", "ThrottlingException", "slow down")
            )
            .is_some_and(|a| a.contains("later"))
        );
        assert!(
            result_action(
                Step::Detector,
                &failed(
                    "ListDetectors",
                    "UnrecognizedClientException",
                    "The security token included in the request is invalid."
                )
            )
            .is_some_and(|a| a.contains("not enabled"))
        );
        assert!(
            result_action(Step::Check, &failed("GetMembers", "AccessDeniedException", "User: x is not authorized to perform: guardduty:ListDetectors with an explicit deny in a service control policy"))
                .is_some_and(|a| a.contains("service control policy"))
        );
        assert_eq!(
            result_action(
                Step::Create,
                &Reason::Result("something nobody has seen".into())
            ),
            None
        );
    }

    #[test]
    fn the_member_role_s_reasons_are_told_apart_by_type() {
        let assume = Reason::NotAccepted(Box::new(Reason::AssumeRole {
            arn: "arn:aws:iam::111111111111:role/r".into(),
            error: CallError::Failed(AwsError::service("AccessDenied", Some("not allowed"))),
        }));
        assert!(
            result_action(Step::Accept, &assume).is_some_and(|a| a.contains("MEMBER_ROLE_NAME"))
        );
        // The text of another reason that merely mentions AssumeRole is not mistaken for it.
        assert_eq!(
            result_action(Step::Create, &Reason::Result("AssumeRole failed".into())),
            None
        );
    }
}

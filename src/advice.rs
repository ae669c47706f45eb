//! What to do about a result that is not any one service's: the validate and lookup steps, and
//! the errors every AWS service shares (denied, throttled, unreachable, out of time).

use crate::outcome::Step;

/// Results by a phrase they contain, and what to do about each: the first that matches wins,
/// so the more specific come first.
const RESULT_ACTIONS: &[(&str, &str)] = &[
    (
        "AssumeRole failed",
        "Check that MEMBER_ROLE_NAME exists in the member account and trusts the administrator account; the invitation stays pending and the member can accept it in the console.",
    ),
    (
        "no pending invitation",
        "Nothing to accept in the member account: look at the member's status in the administrator's console; a later run invites it again if it is at Created.",
    ),
    (
        "Max allowed length",
        "A call carried too many accounts; please report this as a bug.",
    ),
    (
        "AccountNotFoundException",
        "Check the account id: it must be an account of this organisation.",
    ),
    (
        "AWSOrganizationsNotInUseException",
        "The function's account must belong to the organisation, as its management account or a delegated administrator.",
    ),
    (
        "UnrecognizedClientException",
        "The region is not enabled for the administrator account: enable it (Account > AWS Regions), or remove it from REGIONS.",
    ),
    (
        "InvalidClientTokenId",
        "The region is not enabled for the account: enable it (Account > AWS Regions), or leave it out.",
    ),
    (
        "service control policy",
        "A service control policy denies this call: exempt the function's role (or the member role) in the policy, or leave the region out.",
    ),
    (
        "AccessDenied",
        "Grant the role the permission named in the message; to read emails from Organizations the function's account must be the management account or a delegated administrator.",
    ),
    (
        "Throttling",
        "Still throttled after the SDK's retries; invoke the function again for these accounts later.",
    ),
    (
        "TooManyRequests",
        "Still throttled after the SDK's retries; invoke the function again for these accounts later.",
    ),
    (
        "LimitExceeded",
        "Still throttled after the SDK's retries; invoke the function again for these accounts later.",
    ),
    (
        "InternalServerError",
        "The service failed after the SDK's retries; invoke the function again for these accounts later.",
    ),
    (
        "InternalException",
        "The service failed after the SDK's retries; invoke the function again for these accounts later.",
    ),
    (
        "dispatch failure",
        "The service could not be reached; check the network path (VPC endpoints, NAT) and invoke the function again.",
    ),
    (
        "timed out",
        "The service did not answer in time; invoke the function again for these accounts later.",
    ),
    (
        "no usable email",
        "Invoke the function manually with the account's email: {\"accounts\":[{\"accountId\":\"...\",\"email\":\"...\"}]}.",
    ),
];

/// The action of the first phrase of `table` that `text` contains.
pub fn by_phrase(table: &[(&str, &'static str)], text: &str) -> Option<&'static str> {
    table
        .iter()
        .find(|(phrase, _)| text.contains(phrase))
        .map(|(_, action)| *action)
}

/// The action of a status in `table`, whatever its case.
pub fn by_status(table: &[(&str, &'static str)], status: &str) -> Option<&'static str> {
    table
        .iter()
        .find(|(s, _)| s.eq_ignore_ascii_case(status))
        .map(|(_, action)| *action)
}

/// What to do about a result no service claims, where it is a known one.
pub fn result_action(step: Step, result: &str) -> Option<&'static str> {
    if step == Step::Validate {
        return Some("Correct the event's entry and invoke the function again.");
    }
    by_phrase(RESULT_ACTIONS, result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_results_have_actions_and_unknown_ones_do_not() {
        assert!(result_action(Step::Validate, "anything").is_some());
        assert!(
            result_action(
                Step::Check,
                "GetMembers failed: ThrottlingException: slow down"
            )
            .is_some_and(|a| a.contains("later"))
        );
        assert!(
            result_action(Step::Detector, "ListDetectors failed: UnrecognizedClientException: The security token included in the request is invalid.")
                .is_some_and(|a| a.contains("not enabled"))
        );
        assert!(
            result_action(Step::Check, "AccessDeniedException: User: x is not authorized to perform: guardduty:ListDetectors with an explicit deny in a service control policy")
                .is_some_and(|a| a.contains("service control policy"))
        );
        assert_eq!(
            result_action(Step::Create, "something nobody has seen"),
            None
        );
    }
}

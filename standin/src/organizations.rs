//! Organizations' `ListAccounts` and `DescribeAccount` (awsJson1_1: `POST /` with
//! `X-Amz-Target: AWSOrganizationsV20161128.<Operation>`), over an organisation of generated
//! accounts ([`crate::Standin::serve_organization`]).
//!
//! Account `i` is made from its index when asked, so an organisation of 50,000 accounts costs
//! two numbers: ids count up from [`FIRST_ACCOUNT`], in that order `ListAccounts` pages through
//! them by `MaxResults` (1–20) and an opaque `NextToken` naming the next index. The administrator
//! is the management account (in the accounts' ARNs) but not among the generated accounts.
//! Bad input answers 400 `InvalidInputException` with the model's `Reason`; an account not in the
//! organisation answers `AccountNotFoundException`; without an organisation both operations answer
//! `AWSOrganizationsNotInUseException`. Any caller may list (the service allows the management
//! account and delegated administrators; the stand-in does not check).

use serde::Deserialize;
use serde_json::{Value, json};

use crate::wire::{self, Answer, Ctx};
use crate::{Call, Operation, State};

/// The id of the first generated account; account `i` is `FIRST_ACCOUNT + i`.
pub const FIRST_ACCOUNT: u64 = 100_000_000_000;
/// The organisation's id. The model's `AccountArn` pattern wants `o-` and 10 to 32 lowercase
/// letters or digits.
pub const ORGANIZATION_ID: &str = "o-standinorg";
/// When the first account joined (2024-01-01T00:00:00Z); account `i` joined `i` seconds later.
const JOINED_EPOCH_SECONDS: u64 = 1_704_067_200;

/// The model's limits: `MaxResults` 1–20, `NextToken` at most 100,000 characters, `AccountId`
/// at most 12 characters matching `^\d{12}$`.
const MAX_RESULTS: i64 = 20;
const MAX_NEXT_TOKEN: usize = 100_000;
/// `MaxResults` when none is given. *Inferred*: the model gives no default; this is its maximum.
const DEFAULT_MAX_RESULTS: u64 = 20;
/// The list a `NextToken` continues ([`wire::token`]).
const TOKEN_LIST: &str = "organizations-accounts";

/// The generated organisation: how many accounts it has.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Organization {
    pub(crate) accounts: u32,
}

impl Organization {
    pub(crate) fn new(accounts: u32) -> Organization {
        Organization { accounts }
    }

    /// The index of an account id in the organisation, if it is one of its accounts.
    fn index_of(self, id: &str) -> Option<u32> {
        if !is_account_id(id) {
            return None;
        }
        let n = id.parse::<u64>().ok()?.checked_sub(FIRST_ACCOUNT)?;
        u32::try_from(n).ok().filter(|i| *i < self.accounts)
    }
}

/// The id of the organisation's account `index` (from 0): 12 digits, `FIRST_ACCOUNT + index`.
pub fn account_id(index: u32) -> String {
    format!("{:012}", FIRST_ACCOUNT + u64::from(index))
}

fn is_account_id(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
}

/// Account `index` as the model's `Account` shape; `JoinedTimestamp` in epoch seconds, the
/// form of awsJson1_1 timestamps.
fn account(management: &str, index: u32) -> Value {
    let id = account_id(index);
    json!({
        "Id": id,
        "Arn": format!("arn:aws:organizations::{management}:account/{ORGANIZATION_ID}/{id}"),
        "Email": format!("account-{id}@example.com"),
        "Name": format!("Account {index}"),
        "Status": "ACTIVE",
        "State": "ACTIVE",
        "JoinedMethod": "CREATED",
        "JoinedTimestamp": JOINED_EPOCH_SECONDS + u64::from(index),
    })
}

/// 400 `InvalidInputException` with one of the model's `InvalidInputExceptionReason`s; the
/// message is the model's description of that reason.
fn invalid(reason: &'static str, detail: &str) -> Answer {
    let text = match reason {
        "INPUT_REQUIRED" => "You must include a value for all required parameters.",
        "INVALID_PATTERN" => "You provided a value that doesn't match the required pattern.",
        "MAX_LENGTH_EXCEEDED" => "You provided a string parameter that is longer than allowed.",
        "MAX_VALUE_EXCEEDED" => {
            "You provided a numeric parameter that has a larger value than allowed."
        }
        "MIN_VALUE_EXCEEDED" => {
            "You provided a numeric parameter that has a smaller value than allowed."
        }
        "INVALID_NEXT_TOKEN" => {
            "Get the value for the NextToken parameter from the response to a previous call of the operation."
        }
        _ => "You provided invalid values for one or more of the request parameters.",
    };
    Answer::ErrorBody(
        400,
        "InvalidInputException",
        json!({ "Message": format!("{text} ({detail})"), "Reason": reason }),
    )
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ListAccountsInput {
    next_token: Option<String>,
    max_results: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct DescribeAccountInput {
    account_id: Option<String>,
}

fn parse<T: for<'de> Deserialize<'de> + Default>(body: &[u8]) -> Result<T, Answer> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        Answer::ErrorBody(
            400,
            "InvalidInputException",
            json!({ "Message": format!("The request body is not valid: {e}") }),
        )
    })
}

/// The account id a `DescribeAccount` request carries, for the record of a call refused before
/// the service read it.
pub(crate) fn account_carried(body: &[u8]) -> Option<String> {
    parse::<DescribeAccountInput>(body).ok()?.account_id
}

/// Answers one request.
pub(crate) fn answer(state: &State, operation: Operation, ctx: &Ctx, call: &mut Call) -> Answer {
    let Some(organization) = state.organization else {
        return Answer::Error(
            400,
            "AWSOrganizationsNotInUseException",
            "",
            "Your account is not a member of an organization: this stand-in serves no organisation (start it with --organization-accounts N, or use moto for Organizations).".to_owned(),
        );
    };
    let result = match operation {
        Operation::ListAccounts => list_accounts(state, organization, ctx),
        Operation::DescribeAccount => describe_account(state, organization, ctx, call),
        other => Err(Answer::Error(
            400,
            "UnknownOperationException",
            "",
            format!("{other:?} is not an Organizations operation"),
        )),
    };
    result.unwrap_or_else(|a| a)
}

fn list_accounts(state: &State, org: Organization, ctx: &Ctx) -> Result<Answer, Answer> {
    let input: ListAccountsInput = parse(ctx.body)?;
    let max = match input.max_results {
        None => DEFAULT_MAX_RESULTS,
        Some(n) if n > MAX_RESULTS => {
            return Err(invalid(
                "MAX_VALUE_EXCEEDED",
                &format!("MaxResults {n} is more than {MAX_RESULTS}"),
            ));
        }
        Some(n) if n < 1 => {
            return Err(invalid(
                "MIN_VALUE_EXCEEDED",
                &format!("MaxResults {n} is less than 1"),
            ));
        }
        Some(n) => n.unsigned_abs(),
    };
    let start = match input.next_token.as_deref().filter(|t| !t.is_empty()) {
        None => 0,
        Some(token) if token.chars().count() > MAX_NEXT_TOKEN => {
            return Err(invalid(
                "MAX_LENGTH_EXCEEDED",
                &format!("NextToken is longer than {MAX_NEXT_TOKEN} characters"),
            ));
        }
        Some(token) => wire::token_key(TOKEN_LIST, token)
            .and_then(|k| k.parse::<u64>().ok())
            .filter(|i| *i <= u64::from(org.accounts))
            .ok_or_else(|| invalid("INVALID_NEXT_TOKEN", "NextToken was not handed out here"))?,
    };
    let end = (start + max).min(u64::from(org.accounts));
    let accounts: Vec<Value> = (start..end)
        .filter_map(|i| u32::try_from(i).ok())
        .map(|i| account(&state.admin_account, i))
        .collect();
    let mut out = json!({ "Accounts": accounts });
    if end < u64::from(org.accounts) {
        out["NextToken"] = json!(wire::token(TOKEN_LIST, &end.to_string()));
    }
    Ok(Answer::Ok(out))
}

fn describe_account(
    state: &State,
    org: Organization,
    ctx: &Ctx,
    call: &mut Call,
) -> Result<Answer, Answer> {
    let input: DescribeAccountInput = parse(ctx.body)?;
    let Some(id) = input.account_id else {
        return Err(invalid("INPUT_REQUIRED", "AccountId is required"));
    };
    call.account_ids = vec![id.clone()];
    if id.chars().count() > 12 {
        return Err(invalid(
            "MAX_LENGTH_EXCEEDED",
            "AccountId is longer than 12 characters",
        ));
    }
    if !is_account_id(&id) {
        return Err(invalid(
            "INVALID_PATTERN",
            "AccountId must be 12 digits, ^\\d{12}$",
        ));
    }
    match org.index_of(&id) {
        Some(index) => Ok(Answer::Ok(
            json!({ "Account": account(&state.admin_account, index) }),
        )),
        None => Err(Answer::Error(
            400,
            "AccountNotFoundException",
            "",
            format!(
                "You specified an account that doesn't exist: {id} is not in the organisation {ORGANIZATION_ID}."
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_made_from_their_index() {
        let org = Organization::new(50_000);
        assert_eq!(account_id(0), "100000000000");
        assert_eq!(account_id(49_999), "100000049999");
        assert_eq!(org.index_of("100000049999"), Some(49_999));
        assert_eq!(org.index_of("100000050000"), None, "past the last account");
        assert_eq!(org.index_of("099999999999"), None, "before the first");
        assert_eq!(org.index_of("10000000000x"), None);
        let a = account("999999999999", 7);
        assert_eq!(a["Id"], "100000000007");
        assert_eq!(a["Name"], "Account 7");
        assert_eq!(a["Email"], "account-100000000007@example.com");
        assert_eq!(
            a["Arn"],
            "arn:aws:organizations::999999999999:account/o-standinorg/100000000007"
        );
        assert_eq!(a["JoinedTimestamp"], JOINED_EPOCH_SECONDS + 7);
    }
}

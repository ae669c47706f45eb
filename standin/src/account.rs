//! Account's `ListRegions` (restJson1, `POST /listRegions`): every region's opt-in status, as
//! set by `Standin::set_regions`, filtered by `RegionOptStatusContains` and paged by
//! `MaxResults` (1–50) and `NextToken` (at most 1,000 characters).
//!
//! Bad input answers 400 `ValidationException` with the model's members: `message`, `reason`
//! (`fieldValidationFailed`) and `fieldList` (`name`, `message`); the texts are the stand-in's.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::wire::{self, Answer, Ctx};
use crate::{Operation, State};

/// The model's limits.
const MAX_RESULTS: usize = 50;
const MAX_NEXT_TOKEN: usize = 1000;
/// `MaxResults` when none is given. *Inferred*: the model gives no default; this is its maximum.
const DEFAULT_MAX_RESULTS: usize = 50;
/// The model's `RegionOptStatus` enum.
pub(crate) const STATUSES: &[&str] = &[
    "ENABLED",
    "ENABLING",
    "DISABLING",
    "DISABLED",
    "ENABLED_BY_DEFAULT",
];

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ListRegionsInput {
    account_id: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
    region_opt_status_contains: Option<Vec<String>>,
}

fn invalid(field: &str, message: String) -> Answer {
    Answer::ErrorBody(
        400,
        "ValidationException",
        json!({
            "message": message,
            "reason": "fieldValidationFailed",
            "fieldList": [{ "name": field, "message": message }],
        }),
    )
}

/// Answers one request.
pub(crate) fn answer(state: &State, operation: Operation, ctx: &Ctx) -> Answer {
    match operation {
        Operation::ListRegions => list_regions(state, ctx).unwrap_or_else(|a| a),
        other => invalid(
            "operation",
            format!("{other:?} is not an Account operation"),
        ),
    }
}

fn list_regions(state: &State, ctx: &Ctx) -> Result<Answer, Answer> {
    let input: ListRegionsInput = if ctx.body.iter().all(u8::is_ascii_whitespace) {
        ListRegionsInput::default()
    } else {
        serde_json::from_slice(ctx.body)
            .map_err(|e| invalid("body", format!("The request body is not valid: {e}")))?
    };
    if let Some(id) = &input.account_id
        && !(id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(invalid(
            "accountId",
            format!("AccountId {id:?} must be 12 digits."),
        ));
    }
    let max = match input.max_results {
        None => DEFAULT_MAX_RESULTS,
        Some(n) if (1..=MAX_RESULTS as i64).contains(&n) => n as usize,
        Some(n) => {
            return Err(invalid(
                "maxResults",
                format!("MaxResults {n} must be between 1 and {MAX_RESULTS}."),
            ));
        }
    };
    if let Some(token) = &input.next_token
        && token.chars().count() > MAX_NEXT_TOKEN
    {
        return Err(invalid(
            "nextToken",
            format!("NextToken must be at most {MAX_NEXT_TOKEN} characters."),
        ));
    }
    let wanted = input.region_opt_status_contains.unwrap_or_default();
    if let Some(bad) = wanted.iter().find(|s| !STATUSES.contains(&s.as_str())) {
        return Err(invalid(
            "regionOptStatusContains",
            format!("RegionOptStatus {bad:?} must be one of {STATUSES:?}."),
        ));
    }
    let items: Vec<(String, Value)> = state
        .regions
        .iter()
        .filter(|(_, status)| wanted.is_empty() || wanted.contains(status))
        .map(|(name, status)| {
            (
                name.clone(),
                json!({ "RegionName": name, "RegionOptStatus": status }),
            )
        })
        .collect();
    let (regions, next) = wire::page("account-regions", items, input.next_token.as_deref(), max)
        .map_err(|()| invalid("nextToken", "NextToken is not valid.".to_owned()))?;
    let mut out = json!({ "Regions": regions });
    if let Some(next) = next {
        out["NextToken"] = json!(next);
    }
    Ok(Answer::Ok(out))
}

//! The GuardDuty member API: what each operation answers, given the stand-in's state.
//!
//! Whole-call problems (a list outside 1–50 items, an id of the wrong length, a detector the
//! caller does not own) answer HTTP 400 `BadRequestException`; per-account problems are
//! `unprocessedAccounts` entries with HTTP 200, using the texts the service returns.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::{Call, Invitation, Member, Operation, State};

/// The per-account `result` texts GuardDuty returns, verbatim.
pub mod results {
    pub const ALREADY_MEMBER: &str = "The request is rejected because the given account ID is already a member or associated member of the current account.";
    pub const ALREADY_INVITED: &str = "The request is rejected because the current account has already invited or is already the GuardDuty master of the given member account ID.";
    pub const MEMBER_OF_ITSELF: &str =
        "The request is rejected because an account cannot become a member of itself.";
    pub const INVITE_ITSELF: &str =
        "The request is rejected because the current account cannot invite itself.";
    pub const NOT_A_MEMBER: &str = "The request is rejected because the given account ID is not an associated member of account the current account.";
    pub const DETECTOR_NOT_OWNED: &str =
        "The request is rejected because the input detectorId is not owned by the current account.";
    /// An organisation call by an account that is not the delegated administrator (the text
    /// a public report quotes for UpdateOrganizationConfiguration).
    pub const NOT_DELEGATED_ADMIN: &str =
        "The request failed because you do not have required AWS Organization master permission.";
}

/// The API model's limits.
const MAX_ITEMS: usize = 50;
const ACCOUNT_ID_LEN: usize = 12;
const MAX_EMAIL_LEN: usize = 64;

/// An answer before it is put on the wire.
pub(crate) enum Answer {
    Ok(Value),
    /// HTTP status, `x-amzn-ErrorType`, the body's `__type` subtype, message.
    Error(u16, &'static str, &'static str, String),
}

fn bad_request(message: String) -> Answer {
    Answer::Error(400, "BadRequestException", "InvalidInputException", message)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountDetail {
    account_id: String,
    email: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateMembersInput {
    account_details: Vec<AccountDetail>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InviteMembersInput {
    account_ids: Vec<String>,
    #[serde(default)]
    disable_email_notification: Option<bool>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountIdsInput {
    account_ids: Vec<String>,
}

fn check_length(list: &str, len: usize) -> Result<(), Answer> {
    if len > MAX_ITEMS {
        return Err(bad_request(format!(
            "The request failed because the length provided for the {list} array was {len}. Max allowed length is {MAX_ITEMS}."
        )));
    }
    if len == 0 {
        return Err(bad_request(format!(
            "The request failed because the length provided for the {list} array was 0. Min allowed length is 1."
        )));
    }
    Ok(())
}

fn check_account_id(id: &str) -> Result<(), Answer> {
    if id.chars().count() != ACCOUNT_ID_LEN {
        return Err(bad_request(format!(
            "The request failed because the accountId {id:?} has length {}; it must be exactly {ACCOUNT_ID_LEN} characters.",
            id.chars().count()
        )));
    }
    Ok(())
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Answer> {
    serde_json::from_slice(body).map_err(|e| {
        bad_request(format!(
            "The request failed because the body is not valid: {e}"
        ))
    })
}

fn unprocessed(account_id: &str, result: &str) -> Value {
    json!({ "accountId": account_id, "result": result })
}

/// Answers one request. `detector` is the `{detectorId}` of the route, where it has one.
pub(crate) fn answer(
    state: &mut State,
    region: &str,
    operation: Operation,
    detector: Option<&str>,
    body: &[u8],
    call: &mut Call,
) -> Answer {
    let owned = detector.is_some() && state.detectors.get(region).map(String::as_str) == detector;
    let result = match operation {
        Operation::ListDetectors => Ok(list_detectors(state, region)),
        _ if !owned => Err(bad_request(results::DETECTOR_NOT_OWNED.to_owned())),
        Operation::CreateMembers => create_members(state, region, body, call),
        Operation::InviteMembers => invite_members(state, region, body, call),
        Operation::GetMembers => get_members(state, region, body, call),
        Operation::ListMembers => Ok(list_members(state, region)),
        Operation::DescribeOrganizationConfiguration => {
            Ok(describe_organization_configuration(state, region))
        }
    };
    result.unwrap_or_else(|answer| answer)
}

fn describe_organization_configuration(state: &State, region: &str) -> Answer {
    if !state.delegated_regions.contains(region) {
        return bad_request(results::NOT_DELEGATED_ADMIN.to_owned());
    }
    Answer::Ok(json!({
        "autoEnable": false,
        "memberAccountLimitReached": false,
        "autoEnableOrganizationMembers": "NONE",
    }))
}

fn list_detectors(state: &State, region: &str) -> Answer {
    let ids: Vec<&String> = state.detectors.get(region).into_iter().collect();
    Answer::Ok(json!({ "detectorIds": ids }))
}

fn create_members(
    state: &mut State,
    region: &str,
    body: &[u8],
    call: &mut Call,
) -> Result<Answer, Answer> {
    let input: CreateMembersInput = parse(body)?;
    call.account_ids = input
        .account_details
        .iter()
        .map(|d| d.account_id.clone())
        .collect();
    check_length("accountDetails", input.account_details.len())?;
    for detail in &input.account_details {
        check_account_id(&detail.account_id)?;
        let len = detail.email.chars().count();
        if len == 0 || len > MAX_EMAIL_LEN {
            return Err(bad_request(format!(
                "The request failed because the email has length {len}; it must be 1 to {MAX_EMAIL_LEN} characters."
            )));
        }
    }
    let admin = state.admin_account.clone();
    // As the delegated administrator, CreateMembers associates an organisation account
    // directly; an account outside the organisation still needs an invitation.
    let delegated = state.delegated_regions.contains(region);
    let organization = state.organization_accounts.clone();
    let members = state.members.entry(region.to_owned()).or_default();
    let mut rejected = Vec::new();
    for detail in input.account_details {
        if detail.account_id == admin {
            rejected.push(unprocessed(&detail.account_id, results::MEMBER_OF_ITSELF));
        } else if members.contains_key(&detail.account_id) {
            rejected.push(unprocessed(&detail.account_id, results::ALREADY_MEMBER));
        } else {
            let status = if delegated && organization.contains(&detail.account_id) {
                "Enabled"
            } else {
                "Created"
            };
            members.insert(
                detail.account_id.clone(),
                Member {
                    account_id: detail.account_id,
                    email: detail.email,
                    relationship_status: status.to_owned(),
                },
            );
        }
    }
    Ok(Answer::Ok(json!({ "unprocessedAccounts": rejected })))
}

fn invite_members(
    state: &mut State,
    region: &str,
    body: &[u8],
    call: &mut Call,
) -> Result<Answer, Answer> {
    let input: InviteMembersInput = parse(body)?;
    call.account_ids = input.account_ids.clone();
    call.message = input.message.clone();
    call.disable_email_notification = input.disable_email_notification;
    check_length("accountIds", input.account_ids.len())?;
    for id in &input.account_ids {
        check_account_id(id)?;
    }
    let admin = state.admin_account.clone();
    let members = state.members.entry(region.to_owned()).or_default();
    let mut rejected = Vec::new();
    let mut sent = Vec::new();
    for id in &input.account_ids {
        match members.get_mut(id) {
            _ if *id == admin => rejected.push(unprocessed(id, results::INVITE_ITSELF)),
            None => rejected.push(unprocessed(id, results::NOT_A_MEMBER)),
            Some(member) if member.relationship_status == "Created" => {
                member.relationship_status = "Invited".to_owned();
                sent.push(Invitation {
                    region: region.to_owned(),
                    account_id: id.clone(),
                    message: input.message.clone(),
                    disable_email_notification: input.disable_email_notification.unwrap_or(false),
                });
            }
            Some(_) => rejected.push(unprocessed(id, results::ALREADY_INVITED)),
        }
    }
    state.invitations.extend(sent);
    Ok(Answer::Ok(json!({ "unprocessedAccounts": rejected })))
}

fn member_json(state: &State, region: &str, member: &Member) -> Value {
    json!({
        "accountId": member.account_id,
        "detectorId": state.detectors.get(region),
        "masterId": state.admin_account,
        "administratorId": state.admin_account,
        "email": member.email,
        "relationshipStatus": member.relationship_status,
        "updatedAt": "2024-05-15T12:00:00.000Z",
    })
}

fn get_members(
    state: &mut State,
    region: &str,
    body: &[u8],
    call: &mut Call,
) -> Result<Answer, Answer> {
    let input: AccountIdsInput = parse(body)?;
    call.account_ids = input.account_ids.clone();
    check_length("accountIds", input.account_ids.len())?;
    for id in &input.account_ids {
        check_account_id(id)?;
    }
    let members = state.members.get(region);
    let mut found = Vec::new();
    let mut rejected = Vec::new();
    for id in &input.account_ids {
        match members.and_then(|m| m.get(id)) {
            Some(member) => found.push(member_json(state, region, member)),
            None => rejected.push(unprocessed(id, results::NOT_A_MEMBER)),
        }
    }
    Ok(Answer::Ok(
        json!({ "members": found, "unprocessedAccounts": rejected }),
    ))
}

fn list_members(state: &State, region: &str) -> Answer {
    let members: Vec<Value> = state
        .members
        .get(region)
        .map(|m| m.values().map(|v| member_json(state, region, v)).collect())
        .unwrap_or_default();
    Answer::Ok(json!({ "members": members }))
}

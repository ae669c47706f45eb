//! The GuardDuty member API: what each operation answers, given the stand-in's state and the
//! caller.
//!
//! The administrator (the account of `Settings::admin_account`) creates, invites, reads and
//! lists members; any other caller is a member account: it lists its detectors, creates one,
//! lists the invitations sent to it and accepts one. Whole-call problems (a list outside 1–50
//! items, an id of the wrong length, a detector the caller does not own) answer HTTP 400
//! `BadRequestException`; per-account problems are `unprocessedAccounts` entries with HTTP 200,
//! using the texts the service returns.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::wire::{self, Answer, Ctx};
use crate::{Call, Invitation, Member, Operation, Record, State};

/// The per-account `result` texts and error messages GuardDuty returns, verbatim, with where
/// each was seen.
pub mod results {
    /// CreateMembers (reference README).
    pub const ALREADY_MEMBER: &str = "The request is rejected because the given account ID is already a member or associated member of the current account.";
    /// InviteMembers (reference README).
    pub const ALREADY_INVITED: &str = "The request is rejected because the current account has already invited or is already the GuardDuty master of the given member account ID.";
    /// CreateMembers of the caller's own account (reference README).
    pub const MEMBER_OF_ITSELF: &str =
        "The request is rejected because an account cannot become a member of itself.";
    /// InviteMembers of the caller's own account (reference README).
    pub const INVITE_ITSELF: &str =
        "The request is rejected because the current account cannot invite itself.";
    /// InviteMembers and GetMembers of an account that is no member (reference README).
    pub const NOT_A_MEMBER: &str = "The request is rejected because the given account ID is not an associated member of account the current account.";
    /// 400 for a detector the caller does not own (reference README; also
    /// turbot/steampipe-plugin-aws#1105).
    pub const DETECTOR_NOT_OWNED: &str =
        "The request is rejected because the input detectorId is not owned by the current account.";
    /// An organisation call by an account that is not the delegated administrator (the text
    /// a public report quotes for UpdateOrganizationConfiguration).
    pub const NOT_DELEGATED_ADMIN: &str =
        "The request failed because you do not have required AWS Organization master permission.";
    /// 400 for CreateDetector where the account already has one (hashicorp/terraform-provider-aws
    /// #11780, ministryofjustice/modernisation-platform#854: type `InvalidInputException`).
    pub const DETECTOR_EXISTS: &str =
        "The request is rejected because a detector already exists for the current account.";
    /// 400 for AcceptAdministratorInvitation with no matching invitation
    /// (hashicorp/terraform-provider-aws#38833); the stand-in also uses it for a page token,
    /// `maxResults`, `onlyAssociated`, `clientToken` or `findingPublishingFrequency` it cannot
    /// take (inferred: GuardDuty's generic text).
    pub const INVALID_INPUT: &str = "The request is rejected because an invalid or out-of-range value is specified as an input parameter.";
    /// CreateMembers past the member quota. *Inferred*: AWS publishes no text, and GuardDuty
    /// models no LimitExceededException, so the stand-in answers per account, as for every
    /// other per-account refusal.
    pub const LIMIT_REACHED: &str = "The request is rejected because the maximum number of member accounts has been reached for the current account.";
}

/// The API model's limits.
const MAX_ITEMS: usize = 50;
const ACCOUNT_ID_LEN: usize = 12;
const MAX_EMAIL_LEN: usize = 64;
/// `maxResults` when none is given (the model's documentation: "The default value is 50").
const DEFAULT_MAX_RESULTS: usize = 50;

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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateDetectorInput {
    /// Required by the model; the stand-in keeps no detector status, so it is only checked.
    #[allow(dead_code)]
    enable: bool,
    #[serde(default)]
    client_token: Option<String>,
    #[serde(default)]
    finding_publishing_frequency: Option<String>,
    #[serde(default)]
    features: Vec<FeatureInput>,
}

/// `DetectorFeatureConfiguration`: `Name` and `Status`, both enums in the model.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FeatureInput {
    name: String,
    status: String,
}

/// The model's `DetectorFeature` enum.
const DETECTOR_FEATURES: &[&str] = &[
    "S3_DATA_EVENTS",
    "EKS_AUDIT_LOGS",
    "EBS_MALWARE_PROTECTION",
    "RDS_LOGIN_EVENTS",
    "LAMBDA_NETWORK_LOGS",
    "EKS_RUNTIME_MONITORING",
    "RUNTIME_MONITORING",
    "AI_PROTECTION",
    "AI_ANALYST",
];

/// The model's `FindingPublishingFrequency` enum.
const FREQUENCIES: &[&str] = &["FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS"];
/// The model's `ClientToken` limit.
const MAX_CLIENT_TOKEN: usize = 64;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AcceptInput {
    administrator_id: String,
    invitation_id: String,
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

/// `maxResults` of a list call: 1–50, 50 when absent.
fn max_results(ctx: &Ctx) -> Result<usize, Answer> {
    match ctx.query.get("maxResults") {
        None => Ok(DEFAULT_MAX_RESULTS),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_ITEMS).contains(n))
            .ok_or_else(|| bad_request(results::INVALID_INPUT.to_owned())),
    }
}

/// Answers one request.
pub(crate) fn answer(
    state: &mut State,
    operation: Operation,
    ctx: &Ctx,
    call: &mut Call,
) -> Answer {
    let admin = ctx.caller == state.admin_account;
    let owned = ctx.param.is_some()
        && state
            .detector_of(ctx.caller, ctx.region)
            .map(String::as_str)
            == ctx.param;
    let result = match operation {
        Operation::ListDetectors => list_detectors(state, ctx),
        Operation::CreateDetector => create_detector(state, ctx),
        Operation::ListInvitations => list_invitations(state, ctx),
        _ if !owned => Err(bad_request(results::DETECTOR_NOT_OWNED.to_owned())),
        Operation::AcceptAdministratorInvitation => accept(state, ctx),
        // A member account's own detector: it has no members of its own here. The stand-in
        // keeps members for one administrator only.
        Operation::ListMembers if !admin => Ok(Answer::Ok(json!({ "members": [] }))),
        Operation::GetMembers if !admin => Ok(Answer::Ok(
            json!({ "members": [], "unprocessedAccounts": not_members(ctx.body) }),
        )),
        _ if !admin => Err(bad_request(format!(
            "The stand-in keeps GuardDuty members for the administrator {} only; {} is a member account here.",
            state.admin_account, ctx.caller
        ))),
        Operation::CreateMembers => create_members(state, ctx, call),
        Operation::InviteMembers => invite_members(state, ctx, call),
        Operation::GetMembers => get_members(state, ctx, call),
        Operation::ListMembers => list_members(state, ctx),
        Operation::DisassociateMembers => remove_members(state, ctx, call, false),
        Operation::DeleteMembers => remove_members(state, ctx, call, true),
        Operation::DescribeOrganizationConfiguration => {
            max_results(ctx).map(|_| describe_organization_configuration(state, ctx.region))
        }
        Operation::EnableSecurityHub
        | Operation::DescribeHub
        | Operation::ListRegions
        | Operation::ListAccounts
        | Operation::DescribeAccount
        | Operation::AssumeRole => Err(bad_request(format!(
            "{operation:?} is not a GuardDuty operation"
        ))),
    };
    result.unwrap_or_else(|answer| answer)
}

/// GetMembers of a member's own detector: every account is unprocessed.
fn not_members(body: &[u8]) -> Vec<Value> {
    serde_json::from_slice::<AccountIdsInput>(body)
        .map(|i| {
            i.account_ids
                .iter()
                .map(|id| unprocessed(id, results::NOT_A_MEMBER))
                .collect()
        })
        .unwrap_or_default()
}

fn describe_organization_configuration(state: &State, region: &str) -> Answer {
    if !state.guardduty.delegated_regions.contains(region) {
        return bad_request(results::NOT_DELEGATED_ADMIN.to_owned());
    }
    let members = state
        .guardduty
        .auto_enable
        .get(region)
        .map_or("NONE", String::as_str);
    Answer::Ok(json!({
        // Deprecated in favour of autoEnableOrganizationMembers, and true with NEW.
        "autoEnable": members == "NEW",
        "memberAccountLimitReached": state.guardduty.limit_reached(region),
        "autoEnableOrganizationMembers": members,
    }))
}

fn list_detectors(state: &State, ctx: &Ctx) -> Result<Answer, Answer> {
    max_results(ctx)?;
    let ids: Vec<&String> = state
        .detector_of(ctx.caller, ctx.region)
        .into_iter()
        .collect();
    Ok(Answer::Ok(json!({ "detectorIds": ids })))
}

/// One detector per account and region (the CreateDetector documentation: "You can have only
/// one detector per account per Region").
fn create_detector(state: &mut State, ctx: &Ctx) -> Result<Answer, Answer> {
    let input: CreateDetectorInput = parse(ctx.body)?;
    let token_too_long = input
        .client_token
        .is_some_and(|t| t.chars().count() > MAX_CLIENT_TOKEN);
    let unknown_frequency = input
        .finding_publishing_frequency
        .is_some_and(|f| !FREQUENCIES.contains(&f.as_str()));
    let unknown_feature = input.features.iter().any(|f| {
        !DETECTOR_FEATURES.contains(&f.name.as_str())
            || !["ENABLED", "DISABLED"].contains(&f.status.as_str())
    });
    // "Specifying both EKS Runtime Monitoring (EKS_RUNTIME_MONITORING) and Runtime Monitoring
    // (RUNTIME_MONITORING) will cause an error" (the model's CreateDetector documentation).
    let both_runtimes = ["RUNTIME_MONITORING", "EKS_RUNTIME_MONITORING"]
        .iter()
        .all(|n| input.features.iter().any(|f| f.name == *n));
    if token_too_long || unknown_frequency || unknown_feature || both_runtimes {
        return Err(bad_request(results::INVALID_INPUT.to_owned()));
    }
    if state.detector_of(ctx.caller, ctx.region).is_some() {
        return Err(bad_request(results::DETECTOR_EXISTS.to_owned()));
    }
    let id = state.fresh_id();
    // What the detector runs: every feature named keeps its status; an unnamed one is enabled
    // ("any feature that is not specified in the API call gets enabled by default, with an
    // exception to RUNTIME_MONITORING").
    let mut features: BTreeMap<String, bool> = DETECTOR_FEATURES
        .iter()
        .map(|f| ((*f).to_owned(), *f != "RUNTIME_MONITORING"))
        .collect();
    for f in &input.features {
        features.insert(f.name.clone(), f.status == "ENABLED");
    }
    state
        .detector_features
        .insert((ctx.caller.to_owned(), ctx.region.to_owned()), features);
    if ctx.caller == state.admin_account {
        state.detectors.insert(ctx.region.to_owned(), id.clone());
    } else {
        state
            .member_detectors
            .entry(ctx.caller.to_owned())
            .or_default()
            .insert(ctx.region.to_owned(), id.clone());
    }
    Ok(Answer::Ok(json!({ "detectorId": id })))
}

/// The invitations pending for the caller in the region: at most one, from the administrator.
fn list_invitations(state: &State, ctx: &Ctx) -> Result<Answer, Answer> {
    let max = max_results(ctx)?;
    let key = (ctx.region.to_owned(), ctx.caller.to_owned());
    let items: Vec<(String, Value)> = state
        .guardduty
        .pending
        .get(&key)
        .map(|p| {
            (
                state.admin_account.clone(),
                json!({
                    "accountId": state.admin_account,
                    "invitationId": p.invitation_id,
                    "relationshipStatus": "Invited",
                    "invitedAt": p.invited_at,
                }),
            )
        })
        .into_iter()
        .collect();
    let (invitations, next) = wire::page(
        "guardduty-invitations",
        items,
        ctx.query.get("nextToken").map(String::as_str),
        max,
    )
    .map_err(|()| bad_request(results::INVALID_INPUT.to_owned()))?;
    let mut out = json!({ "invitations": invitations });
    if let Some(next) = next {
        out["nextToken"] = json!(next);
    }
    Ok(Answer::Ok(out))
}

/// The member accepts: the administrator's record of it becomes `Enabled`.
fn accept(state: &mut State, ctx: &Ctx) -> Result<Answer, Answer> {
    let input: AcceptInput = parse(ctx.body)?;
    let key = (ctx.region.to_owned(), ctx.caller.to_owned());
    let matches = input.administrator_id == state.admin_account
        && state
            .guardduty
            .pending
            .get(&key)
            .is_some_and(|p| p.invitation_id == input.invitation_id);
    if !matches {
        return Err(bad_request(results::INVALID_INPUT.to_owned()));
    }
    state.guardduty.pending.remove(&key);
    if let Some(record) = state
        .guardduty
        .members
        .get_mut(ctx.region)
        .and_then(|m| m.get_mut(ctx.caller))
    {
        record.member.relationship_status = "Enabled".to_owned();
        record.updated_at = wire::now();
    }
    Ok(Answer::Ok(json!({})))
}

fn create_members(state: &mut State, ctx: &Ctx, call: &mut Call) -> Result<Answer, Answer> {
    let input: CreateMembersInput = parse(ctx.body)?;
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
    let gd = &mut state.guardduty;
    // As the delegated administrator, CreateMembers associates an organisation account
    // directly; an account outside the organisation still needs an invitation.
    let delegated = gd.delegated_regions.contains(ctx.region);
    let members = gd.members.entry(ctx.region.to_owned()).or_default();
    let mut rejected = Vec::new();
    for detail in input.account_details {
        if detail.account_id == admin {
            rejected.push(unprocessed(&detail.account_id, results::MEMBER_OF_ITSELF));
        } else if members.contains_key(&detail.account_id) {
            rejected.push(unprocessed(&detail.account_id, results::ALREADY_MEMBER));
        } else if gd.limit.is_some_and(|limit| members.len() >= limit) {
            rejected.push(unprocessed(&detail.account_id, results::LIMIT_REACHED));
        } else {
            let status = if delegated && gd.organization_accounts.contains(&detail.account_id) {
                "Enabled"
            } else {
                "Created"
            };
            members.insert(
                detail.account_id.clone(),
                Record {
                    member: Member {
                        account_id: detail.account_id,
                        email: detail.email,
                        relationship_status: status.to_owned(),
                    },
                    invited_at: None,
                    updated_at: wire::now(),
                },
            );
        }
    }
    Ok(Answer::Ok(json!({ "unprocessedAccounts": rejected })))
}

fn invite_members(state: &mut State, ctx: &Ctx, call: &mut Call) -> Result<Answer, Answer> {
    let input: InviteMembersInput = parse(ctx.body)?;
    call.account_ids = input.account_ids.clone();
    call.message = input.message.clone();
    call.disable_email_notification = input.disable_email_notification;
    check_length("accountIds", input.account_ids.len())?;
    for id in &input.account_ids {
        check_account_id(id)?;
    }
    let admin = state.admin_account.clone();
    let mut rejected = Vec::new();
    let mut to_invite = Vec::new();
    for id in &input.account_ids {
        let status = state
            .guardduty
            .members
            .get(ctx.region)
            .and_then(|m| m.get(id))
            .map(|r| r.member.relationship_status.as_str());
        match status {
            _ if *id == admin => rejected.push(unprocessed(id, results::INVITE_ITSELF)),
            None => rejected.push(unprocessed(id, results::NOT_A_MEMBER)),
            Some("Created") => to_invite.push(id.clone()),
            Some(_) => rejected.push(unprocessed(id, results::ALREADY_INVITED)),
        }
    }
    for id in to_invite {
        let invitation_id = state.fresh_id();
        let now = wire::now();
        let gd = &mut state.guardduty;
        if let Some(record) = gd.members.get_mut(ctx.region).and_then(|m| m.get_mut(&id)) {
            record.member.relationship_status = "Invited".to_owned();
            record.invited_at = Some(now.clone());
            record.updated_at = now.clone();
        }
        gd.pending.insert(
            (ctx.region.to_owned(), id.clone()),
            crate::Pending {
                invitation_id: invitation_id.clone(),
                invited_at: now,
            },
        );
        gd.sent.push(Invitation {
            region: ctx.region.to_owned(),
            account_id: id,
            invitation_id,
            message: input.message.clone(),
            disable_email_notification: input.disable_email_notification.unwrap_or(false),
        });
    }
    Ok(Answer::Ok(json!({ "unprocessedAccounts": rejected })))
}

fn member_json(state: &State, region: &str, record: &Record) -> Value {
    let member = &record.member;
    let mut out = json!({
        "accountId": member.account_id,
        "masterId": state.admin_account,
        "administratorId": state.admin_account,
        "email": member.email,
        "relationshipStatus": member.relationship_status,
        "updatedAt": record.updated_at,
    });
    if let Some(detector) = state.detectors.get(region) {
        out["detectorId"] = json!(detector);
    }
    if let Some(invited_at) = &record.invited_at {
        out["invitedAt"] = json!(invited_at);
    }
    out
}

/// `DisassociateMembers` (the member stays, at `Removed`, and its invitation is gone) or
/// `DeleteMembers` (the member is gone): `{"unprocessedAccounts": [...]}`, each account that is
/// no member refused as `GetMembers` refuses it.
fn remove_members(
    state: &mut State,
    ctx: &Ctx,
    call: &mut Call,
    delete: bool,
) -> Result<Answer, Answer> {
    let input: AccountIdsInput = parse(ctx.body)?;
    call.account_ids = input.account_ids.clone();
    check_length("accountIds", input.account_ids.len())?;
    for id in &input.account_ids {
        check_account_id(id)?;
    }
    let gd = &mut state.guardduty;
    let mut rejected = Vec::new();
    for id in &input.account_ids {
        let members = gd.members.entry(ctx.region.to_owned()).or_default();
        if !members.contains_key(id) {
            rejected.push(unprocessed(id, results::NOT_A_MEMBER));
            continue;
        }
        if delete {
            members.remove(id);
        } else if let Some(record) = members.get_mut(id) {
            record.member.relationship_status = "Removed".to_owned();
            record.updated_at = wire::now();
        }
        gd.pending.remove(&(ctx.region.to_owned(), id.clone()));
    }
    Ok(Answer::Ok(json!({ "unprocessedAccounts": rejected })))
}

fn get_members(state: &mut State, ctx: &Ctx, call: &mut Call) -> Result<Answer, Answer> {
    let input: AccountIdsInput = parse(ctx.body)?;
    call.account_ids = input.account_ids.clone();
    check_length("accountIds", input.account_ids.len())?;
    for id in &input.account_ids {
        check_account_id(id)?;
    }
    let members = state.guardduty.members.get(ctx.region);
    let mut found = Vec::new();
    let mut rejected = Vec::new();
    for id in &input.account_ids {
        match members.and_then(|m| m.get(id)) {
            Some(record) => found.push(member_json(state, ctx.region, record)),
            None => rejected.push(unprocessed(id, results::NOT_A_MEMBER)),
        }
    }
    Ok(Answer::Ok(
        json!({ "members": found, "unprocessedAccounts": rejected }),
    ))
}

/// ListMembers: `onlyAssociated` is a string; "true" (the default) lists only `Enabled`
/// members, "false" lists every member. Pages of `maxResults` with an opaque `nextToken`.
fn list_members(state: &State, ctx: &Ctx) -> Result<Answer, Answer> {
    let max = max_results(ctx)?;
    let only_associated = match ctx.query.get("onlyAssociated").map(String::as_str) {
        None | Some("true") | Some("TRUE") | Some("True") => true,
        Some("false") | Some("FALSE") | Some("False") => false,
        Some(_) => return Err(bad_request(results::INVALID_INPUT.to_owned())),
    };
    let (members, next) = wire::page_of(
        "guardduty-members",
        state.guardduty.members.get(ctx.region),
        ctx.query.get("nextToken").map(String::as_str),
        max,
        |r| !only_associated || r.member.relationship_status == "Enabled",
        |r| member_json(state, ctx.region, r),
    )
    .map_err(|()| bad_request(results::INVALID_INPUT.to_owned()))?;
    let mut out = json!({ "members": members });
    if let Some(next) = next {
        out["nextToken"] = json!(next);
    }
    Ok(Answer::Ok(out))
}

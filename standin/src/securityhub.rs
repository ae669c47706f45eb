//! The Security Hub CSPM member API (restJson1, PascalCase): what each operation answers, given
//! the stand-in's state and the caller.
//!
//! Every call but `EnableSecurityHub` needs the caller's hub enabled in the region; otherwise
//! it answers 401 `InvalidAccessException`, as Security Hub does for an account not subscribed.
//! The administrator creates, invites, reads and lists members; any other caller is a member
//! account: it enables its hub, lists the invitations sent to it and accepts one. Whole-call
//! problems answer 400 `InvalidInputException`; per-account problems are `UnprocessedAccounts`
//! entries with HTTP 200.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::wire::{self, Answer, Ctx};
use crate::{Call, Invitation, Member, Operation, Pending, Record, State};

/// The per-account `ProcessingResult` texts and error messages Security Hub returns, with where
/// each was seen. Those marked *inferred* were not found in any public source: they follow
/// GuardDuty's wording, since Security Hub was seen answering GuardDuty's text verbatim for an
/// existing member. Match them loosely, if at all.
pub mod results {
    /// CreateMembers of an existing member: GuardDuty's text, verbatim
    /// (aws-samples/aws-secure-environment-accelerator#814, from `create-members`).
    pub const ALREADY_MEMBER: &str = "The request is rejected because the given account ID is already a member or associated member of the current account.";
    /// CreateMembers of the caller's own account. *Inferred.*
    pub const MEMBER_OF_ITSELF: &str =
        "The request is rejected because an account cannot become a member of itself.";
    /// InviteMembers of the caller's own account. *Inferred.*
    pub const INVITE_ITSELF: &str =
        "The request is rejected because the current account cannot invite itself.";
    /// InviteMembers and GetMembers of an account that is no member. *Inferred.*
    pub const NOT_A_MEMBER: &str = "The request is rejected because the given account ID is not an associated member of account the current account.";
    /// InviteMembers of a member already invited or associated. *Inferred.*
    pub const ALREADY_INVITED: &str = "The request is rejected because the current account has already invited or is already the Security Hub administrator of the given member account ID.";
    /// 409 `ResourceConflictException` of EnableSecurityHub where the hub is already enabled
    /// (nozaq/terraform-aws-secure-baseline#135, #110).
    pub const ALREADY_SUBSCRIBED: &str = "Account is already subscribed to Security Hub";
    /// 404 `ResourceNotFoundException` of AcceptAdministratorInvitation with no matching
    /// invitation. *Inferred* (the status is one the model lists for the operation).
    pub const INVITATION_NOT_FOUND: &str =
        "The request is rejected because the invitation was not found for the current account.";
    /// 400 `InvalidInputException` for a `NextToken` the service did not hand out. *Inferred.*
    pub const INVALID_NEXT_TOKEN: &str =
        "The request is rejected because the NextToken is invalid.";

    /// 401 `InvalidAccessException` of DescribeOrganizationConfiguration for an account that is
    /// not the delegated administrator: the text public reports quote for
    /// UpdateOrganizationConfiguration (hashicorp/terraform#30285). *Inferred* for Describe.
    pub fn not_administrator(account: &str) -> String {
        format!("Account {account} is not an administrator for this organization")
    }
    /// 429 `LimitExceededException` of CreateMembers past the member quota. *Inferred*: the
    /// model's exception ("attempted to create resources beyond the current Amazon Web Services
    /// account or throttling limits"), with a text of the stand-in's own.
    pub const LIMIT_REACHED: &str =
        "The request was rejected because the maximum number of member accounts has been reached.";

    /// 401 `InvalidAccessException` for a call by an account whose hub is not enabled in the
    /// region (joshlarsen/aws-recon#65: "Account 123123123123 is not subscribed to AWS
    /// Security Hub").
    pub fn not_subscribed(account: &str) -> String {
        format!("Account {account} is not subscribed to AWS Security Hub")
    }
}

/// The model's limits: `AccountDetailsList` and `CrossAccountMaxResults` are 1–50.
const MAX_ITEMS: usize = 50;
/// `MaxResults` when none is given. *Inferred*: the model gives no default; this is its maximum.
const DEFAULT_MAX_RESULTS: usize = 50;

fn invalid_input(message: String) -> Answer {
    Answer::Error(400, "InvalidInputException", "", message)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AccountDetails {
    account_id: String,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateMembersInput {
    account_details: Vec<AccountDetails>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AccountIdsInput {
    account_ids: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AcceptInput {
    administrator_id: String,
    invitation_id: String,
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Answer> {
    serde_json::from_slice(body).map_err(|e| {
        invalid_input(format!(
            "The request failed because the body is not valid: {e}"
        ))
    })
}

/// The model's `NonEmptyString` pattern, `.*\S.*`.
fn non_empty(value: &str) -> bool {
    value.chars().any(|c| !c.is_whitespace())
}

/// An account id: 12 digits. The model says only `NonEmptyString`; the check is *inferred*.
fn check_account_id(id: &str) -> Result<(), Answer> {
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(invalid_input(format!(
            "The request failed because the account ID {id:?} is not a 12-digit account ID."
        )))
    }
}

fn unprocessed(account_id: &str, result: &str) -> Value {
    json!({ "AccountId": account_id, "ProcessingResult": result })
}

fn max_results(ctx: &Ctx) -> Result<usize, Answer> {
    match ctx.query.get("MaxResults") {
        None => Ok(DEFAULT_MAX_RESULTS),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_ITEMS).contains(n))
            .ok_or_else(|| {
                invalid_input(format!(
                    "The request failed because MaxResults {v:?} is not between 1 and {MAX_ITEMS}."
                ))
            }),
    }
}

/// Answers one request.
pub(crate) fn answer(
    state: &mut State,
    operation: Operation,
    ctx: &Ctx,
    call: &mut Call,
) -> Answer {
    let subscribed = state
        .hubs
        .contains_key(&(ctx.caller.to_owned(), ctx.region.to_owned()));
    let admin = ctx.caller == state.admin_account;
    let result = match operation {
        Operation::EnableSecurityHub => enable(state, ctx, subscribed),
        _ if !subscribed => Err(Answer::Error(
            401,
            "InvalidAccessException",
            "",
            results::not_subscribed(ctx.caller),
        )),
        Operation::DescribeHub => Ok(describe_hub(state, ctx)),
        Operation::ListInvitations => list_invitations(state, ctx),
        Operation::AcceptAdministratorInvitation => accept(state, ctx),
        // A member account's own hub: it has no members of its own here. The stand-in keeps
        // members for one administrator only.
        Operation::ListMembers if !admin => Ok(Answer::Ok(json!({ "Members": [] }))),
        Operation::GetMembers if !admin => not_members(ctx, call),
        _ if !admin => Err(invalid_input(format!(
            "The stand-in keeps Security Hub members for the administrator {} only; {} is a member account here.",
            state.admin_account, ctx.caller
        ))),
        Operation::DescribeOrganizationConfiguration => Ok(organization_configuration(state, ctx)),
        Operation::CreateMembers => create_members(state, ctx, call),
        Operation::InviteMembers => invite_members(state, ctx, call),
        Operation::GetMembers => get_members(state, ctx, call),
        Operation::ListMembers => list_members(state, ctx),
        Operation::DisassociateMembers => remove_members(state, ctx, call, false),
        Operation::DeleteMembers => remove_members(state, ctx, call, true),
        other => Err(invalid_input(format!(
            "{other:?} is not a Security Hub operation"
        ))),
    };
    result.unwrap_or_else(|answer| answer)
}

fn enable(state: &mut State, ctx: &Ctx, subscribed: bool) -> Result<Answer, Answer> {
    // The body (Tags, EnableDefaultStandards, ControlFindingGenerator) is optional; the stand-in
    // keeps whether the default standards were turned on: "If you don't provide a value for
    // EnableDefaultStandards, it is set to true" (the model's EnableSecurityHubRequest).
    let standards = serde_json::from_slice::<Value>(ctx.body)
        .ok()
        .and_then(|body| body.get("EnableDefaultStandards").and_then(Value::as_bool))
        .unwrap_or(true);
    if subscribed {
        return Err(Answer::Error(
            409,
            "ResourceConflictException",
            "",
            results::ALREADY_SUBSCRIBED.to_owned(),
        ));
    }
    let key = (ctx.caller.to_owned(), ctx.region.to_owned());
    state.default_standards.insert(key.clone(), standards);
    state.hubs.insert(key, wire::now());
    Ok(Answer::Ok(json!({})))
}

/// The organisation's configuration, for the delegated administrator only ("Only the Security
/// Hub CSPM administrator account can invoke this operation").
fn organization_configuration(state: &State, ctx: &Ctx) -> Answer {
    let hub = &state.securityhub;
    if !hub.delegated_regions.contains(ctx.region) {
        return Answer::Error(
            401,
            "InvalidAccessException",
            "",
            results::not_administrator(ctx.caller),
        );
    }
    let setting = hub
        .auto_enable
        .get(ctx.region)
        .map_or("OFF", String::as_str);
    let central = setting == "CENTRAL";
    Answer::Ok(json!({
        // Under central configuration, AutoEnable is false and AutoEnableStandards NONE.
        "AutoEnable": setting == "ON",
        "MemberAccountLimitReached": hub.limit_reached(ctx.region),
        "AutoEnableStandards": if setting == "ON" { "DEFAULT" } else { "NONE" },
        "OrganizationConfiguration": {
            "ConfigurationType": if central { "CENTRAL" } else { "LOCAL" },
            "Status": "ENABLED"
        }
    }))
}

/// The caller's hub, once enabled (before, the 401 of every call). The optional `HubArn` query
/// member is not checked: the stand-in knows one hub per account and region.
fn describe_hub(state: &State, ctx: &Ctx) -> Answer {
    let since = state
        .hubs
        .get(&(ctx.caller.to_owned(), ctx.region.to_owned()))
        .cloned()
        .unwrap_or_default();
    Answer::Ok(json!({
        "HubArn": format!("arn:aws:securityhub:{}:{}:hub/default", ctx.region, ctx.caller),
        "SubscribedAt": since,
        "AutoEnableControls": true,
        "ControlFindingGenerator": "SECURITY_CONTROL",
    }))
}

fn list_invitations(state: &State, ctx: &Ctx) -> Result<Answer, Answer> {
    let max = max_results(ctx)?;
    let key = (ctx.region.to_owned(), ctx.caller.to_owned());
    let items: Vec<(String, Value)> = state
        .securityhub
        .pending
        .get(&key)
        .map(|p| {
            (
                state.admin_account.clone(),
                json!({
                    "AccountId": state.admin_account,
                    "InvitationId": p.invitation_id,
                    "InvitedAt": p.invited_at,
                    "MemberStatus": "Invited",
                }),
            )
        })
        .into_iter()
        .collect();
    let (invitations, next) = wire::page(
        "securityhub-invitations",
        items,
        ctx.query.get("NextToken").map(String::as_str),
        max,
    )
    .map_err(|()| invalid_input(results::INVALID_NEXT_TOKEN.to_owned()))?;
    let mut out = json!({ "Invitations": invitations });
    if let Some(next) = next {
        out["NextToken"] = json!(next);
    }
    Ok(Answer::Ok(out))
}

fn accept(state: &mut State, ctx: &Ctx) -> Result<Answer, Answer> {
    let input: AcceptInput = parse(ctx.body)?;
    if !non_empty(&input.administrator_id) || !non_empty(&input.invitation_id) {
        return Err(invalid_input(
            "The request failed because AdministratorId and InvitationId must not be empty."
                .to_owned(),
        ));
    }
    let key = (ctx.region.to_owned(), ctx.caller.to_owned());
    let matches = input.administrator_id == state.admin_account
        && state
            .securityhub
            .pending
            .get(&key)
            .is_some_and(|p| p.invitation_id == input.invitation_id);
    if !matches {
        return Err(Answer::Error(
            404,
            "ResourceNotFoundException",
            "",
            results::INVITATION_NOT_FOUND.to_owned(),
        ));
    }
    state.securityhub.pending.remove(&key);
    if let Some(record) = state
        .securityhub
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
    let len = input.account_details.len();
    if !(1..=MAX_ITEMS).contains(&len) {
        // The limit is the model's; the text is *inferred* (GuardDuty's form).
        return Err(invalid_input(format!(
            "The request failed because the length provided for the AccountDetails array was {len}. Allowed length is 1 to {MAX_ITEMS}."
        )));
    }
    for detail in &input.account_details {
        check_account_id(&detail.account_id)?;
        if detail.email.as_deref().is_some_and(|e| !non_empty(e)) {
            return Err(invalid_input(
                "The request failed because an Email is empty.".to_owned(),
            ));
        }
    }
    let admin = state.admin_account.clone();
    let hub = &mut state.securityhub;
    // As the delegated administrator, CreateMembers makes an organisation account a member
    // directly: "Organization accounts don't receive invitations" (InviteMembers doc).
    let delegated = hub.delegated_regions.contains(ctx.region);
    let members = hub.members.entry(ctx.region.to_owned()).or_default();
    // Past the quota, the whole call is refused (the model's 429 for "resources beyond the
    // current account ... limits"); below it, the call goes through whole.
    if hub.limit.is_some_and(|limit| members.len() >= limit) {
        return Err(Answer::Error(
            429,
            "LimitExceededException",
            "",
            results::LIMIT_REACHED.to_owned(),
        ));
    }
    let mut rejected = Vec::new();
    for detail in input.account_details {
        if detail.account_id == admin {
            rejected.push(unprocessed(&detail.account_id, results::MEMBER_OF_ITSELF));
        } else if members.contains_key(&detail.account_id) {
            rejected.push(unprocessed(&detail.account_id, results::ALREADY_MEMBER));
        } else {
            let status = if delegated && hub.organization_accounts.contains(&detail.account_id) {
                "Enabled"
            } else {
                "Created"
            };
            members.insert(
                detail.account_id.clone(),
                Record {
                    member: Member {
                        account_id: detail.account_id,
                        email: detail.email.unwrap_or_default(),
                        relationship_status: status.to_owned(),
                    },
                    invited_at: None,
                    updated_at: wire::now(),
                },
            );
        }
    }
    Ok(Answer::Ok(json!({ "UnprocessedAccounts": rejected })))
}

fn account_ids(ctx: &Ctx, call: &mut Call) -> Result<Vec<String>, Answer> {
    let input: AccountIdsInput = parse(ctx.body)?;
    call.account_ids = input.account_ids.clone();
    for id in &input.account_ids {
        check_account_id(id)?;
    }
    Ok(input.account_ids)
}

/// `DisassociateMembers` (an empty answer: the members stay, at `Removed`) or `DeleteMembers`
/// (the members are gone; `{"UnprocessedAccounts": [...]}`, each account that is no member
/// refused as `GetMembers` refuses it).
fn remove_members(
    state: &mut State,
    ctx: &Ctx,
    call: &mut Call,
    delete: bool,
) -> Result<Answer, Answer> {
    let ids = account_ids(ctx, call)?;
    let hub = &mut state.securityhub;
    let members = hub.members.entry(ctx.region.to_owned()).or_default();
    let mut rejected = Vec::new();
    for id in &ids {
        if !members.contains_key(id) {
            rejected.push(unprocessed(id, results::NOT_A_MEMBER));
        } else if delete {
            members.remove(id);
        } else if let Some(record) = members.get_mut(id) {
            record.member.relationship_status = "Removed".to_owned();
            record.updated_at = wire::now();
        }
    }
    for id in &ids {
        hub.pending.remove(&(ctx.region.to_owned(), id.clone()));
    }
    Ok(Answer::Ok(if delete {
        json!({ "UnprocessedAccounts": rejected })
    } else {
        json!({})
    }))
}

fn invite_members(state: &mut State, ctx: &Ctx, call: &mut Call) -> Result<Answer, Answer> {
    let ids = account_ids(ctx, call)?;
    let admin = state.admin_account.clone();
    let mut rejected = Vec::new();
    let mut to_invite = Vec::new();
    for id in &ids {
        let status = state
            .securityhub
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
        let hub = &mut state.securityhub;
        if let Some(record) = hub.members.get_mut(ctx.region).and_then(|m| m.get_mut(&id)) {
            record.member.relationship_status = "Invited".to_owned();
            record.invited_at = Some(now.clone());
            record.updated_at = now.clone();
        }
        hub.pending.insert(
            (ctx.region.to_owned(), id.clone()),
            Pending {
                invitation_id: invitation_id.clone(),
                invited_at: now,
            },
        );
        hub.sent.push(Invitation {
            region: ctx.region.to_owned(),
            account_id: id,
            invitation_id,
            message: None,
            disable_email_notification: false,
        });
    }
    Ok(Answer::Ok(json!({ "UnprocessedAccounts": rejected })))
}

fn member_json(state: &State, record: &Record) -> Value {
    let member = &record.member;
    let mut out = json!({
        "AccountId": member.account_id,
        "MasterId": state.admin_account,
        "AdministratorId": state.admin_account,
        "MemberStatus": member.relationship_status,
        "UpdatedAt": record.updated_at,
    });
    if !member.email.is_empty() {
        out["Email"] = json!(member.email);
    }
    if let Some(invited_at) = &record.invited_at {
        out["InvitedAt"] = json!(invited_at);
    }
    out
}

fn get_members(state: &mut State, ctx: &Ctx, call: &mut Call) -> Result<Answer, Answer> {
    let ids = account_ids(ctx, call)?;
    let members = state.securityhub.members.get(ctx.region);
    let mut found = Vec::new();
    let mut rejected = Vec::new();
    for id in &ids {
        match members.and_then(|m| m.get(id)) {
            Some(record) => found.push(member_json(state, record)),
            None => rejected.push(unprocessed(id, results::NOT_A_MEMBER)),
        }
    }
    Ok(Answer::Ok(
        json!({ "Members": found, "UnprocessedAccounts": rejected }),
    ))
}

/// GetMembers by a member account: it has no members.
fn not_members(ctx: &Ctx, call: &mut Call) -> Result<Answer, Answer> {
    let ids = account_ids(ctx, call)?;
    let rejected: Vec<Value> = ids
        .iter()
        .map(|id| unprocessed(id, results::NOT_A_MEMBER))
        .collect();
    Ok(Answer::Ok(
        json!({ "Members": [], "UnprocessedAccounts": rejected }),
    ))
}

/// ListMembers: `OnlyAssociated` is a boolean, default TRUE: only `Enabled` members (the
/// model's documentation). Pages of `MaxResults` with an opaque `NextToken`.
fn list_members(state: &State, ctx: &Ctx) -> Result<Answer, Answer> {
    let max = max_results(ctx)?;
    let only_associated = match ctx.query.get("OnlyAssociated").map(String::as_str) {
        None => true,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => {
            return Err(invalid_input(format!(
                "The request failed because OnlyAssociated {v:?} is not a boolean."
            )));
        }
    };
    let (members, next) = wire::page_of(
        "securityhub-members",
        state.securityhub.members.get(ctx.region),
        ctx.query.get("NextToken").map(String::as_str),
        max,
        |r| !only_associated || r.member.relationship_status == "Enabled",
        |r| member_json(state, r),
    )
    .map_err(|()| invalid_input(results::INVALID_NEXT_TOKEN.to_owned()))?;
    let mut out = json!({ "Members": members });
    if let Some(next) = next {
        out["NextToken"] = json!(next);
    }
    Ok(Answer::Ok(out))
}

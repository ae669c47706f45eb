//! The HTTP side: routes, the region from the SigV4 credential scope, injected faults, the
//! `x-amzn-ErrorType` header, and a snapshot route for people and scripts.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::guardduty::{self, Answer};
use crate::{Call, FaultKind, Operation, State};

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

/// Which operation a method and path name, and the `{detectorId}` in the path.
fn route(method: &Method, path: &str) -> Option<(Operation, Option<String>)> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let op = match (method, segments.as_slice()) {
        (&Method::GET, ["detector"]) => return Some((Operation::ListDetectors, None)),
        (&Method::POST, ["detector", _, "member"]) => Operation::CreateMembers,
        (&Method::GET, ["detector", _, "member"]) => Operation::ListMembers,
        (&Method::GET, ["detector", _, "admin"]) => Operation::DescribeOrganizationConfiguration,
        (&Method::POST, ["detector", _, "member", "invite"]) => Operation::InviteMembers,
        (&Method::POST, ["detector", _, "member", "get"]) => Operation::GetMembers,
        _ => return None,
    };
    Some((op, Some(segments[1].to_owned())))
}

/// The region of a SigV4 `Authorization` header: `Credential=AKID/DATE/REGION/SERVICE/aws4_request`.
fn region_of(req: &Request<Incoming>) -> Option<String> {
    let auth = req.headers().get("authorization")?.to_str().ok()?;
    let credential = auth.split("Credential=").nth(1)?;
    let region = credential.split('/').nth(2)?;
    (!region.is_empty()).then(|| region.to_owned())
}

fn json_response(status: u16, error_type: Option<&str>, body: &Value) -> Response<Full<Bytes>> {
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json")
        .header("x-amzn-requestid", "00000000-0000-4000-8000-000000000000");
    if let Some(error_type) = error_type {
        builder = builder.header("x-amzn-ErrorType", error_type);
    }
    builder
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn error_response(
    status: u16,
    error_type: &str,
    subtype: &str,
    message: &str,
) -> Response<Full<Bytes>> {
    // The model's error shapes have `message` and `type`; the service also sends `__type`.
    json_response(
        status,
        Some(error_type),
        &json!({ "message": message, "type": subtype, "__type": subtype }),
    )
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<Mutex<State>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let region = region_of(&req);
    let body = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let lock = || state.lock().unwrap_or_else(|e| e.into_inner());
    if method == Method::GET && path == "/_standin/state" {
        return Ok(json_response(200, None, &snapshot(&lock())));
    }
    let latency = lock().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let answer = respond(&mut lock(), &method, &path, region, &body);
    match answer {
        Some(response) => Ok(response),
        // A hang: never answer; the client's timeout ends the request and the connection.
        None => {
            let never: Infallible = std::future::pending().await;
            match never {}
        }
    }
}

/// The answer to a request, recorded as a call; `None` for a request that must hang.
fn respond(
    state: &mut State,
    method: &Method,
    path: &str,
    region: Option<String>,
    body: &[u8],
) -> Option<Response<Full<Bytes>>> {
    let Some((operation, detector)) = route(method, path) else {
        return Some(error_response(
            404,
            "UnknownOperationException",
            "UnknownOperationException",
            &format!("No operation at {method} {path}"),
        ));
    };
    let Some(region) = region else {
        return Some(error_response(
            403,
            "MissingAuthenticationTokenException",
            "MissingAuthenticationTokenException",
            "Missing Authentication Token: the request has no SigV4 credential scope",
        ));
    };
    let mut call = Call {
        seq: state.calls.len(),
        region: region.clone(),
        operation,
        account_ids: Vec::new(),
        message: None,
        disable_email_notification: None,
        status: 200,
    };
    let response = match state.take_fault(operation, &region) {
        Some(FaultKind::Hang) => None,
        Some(FaultKind::Throttle) => Some(error_response(
            429,
            "ThrottlingException",
            "ThrottlingException",
            "Rate exceeded",
        )),
        Some(FaultKind::ServerError) => Some(error_response(
            500,
            "InternalServerErrorException",
            "InternalException",
            "The request failed due to an internal error.",
        )),
        None => Some(
            match guardduty::answer(
                state,
                &region,
                operation,
                detector.as_deref(),
                body,
                &mut call,
            ) {
                Answer::Ok(value) => json_response(200, None, &value),
                Answer::Error(status, error_type, subtype, message) => {
                    error_response(status, error_type, subtype, &message)
                }
            },
        ),
    };
    let carries_accounts = matches!(
        operation,
        Operation::CreateMembers | Operation::InviteMembers | Operation::GetMembers
    );
    if call.account_ids.is_empty() && carries_accounts {
        // A faulted request was not parsed by the operation; record what it carried anyway.
        call.account_ids = account_ids_in(body);
    }
    // A hung call is recorded with status 0: it never answered.
    call.status = response.as_ref().map_or(0, |r| r.status().as_u16());
    state.calls.push(call);
    response
}

/// The account ids in a request body, whichever list carries them.
fn account_ids_in(body: &[u8]) -> Vec<String> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let ids = value["accountIds"].as_array().map(|ids| {
        ids.iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    });
    ids.or_else(|| {
        value["accountDetails"].as_array().map(|details| {
            details
                .iter()
                .filter_map(|d| d["accountId"].as_str().map(str::to_owned))
                .collect()
        })
    })
    .unwrap_or_default()
}

/// Members, calls and invitations as JSON.
pub(crate) fn snapshot(state: &State) -> Value {
    json!({
        "adminAccount": state.admin_account,
        "detectors": state.detectors,
        "delegatedRegions": state.delegated_regions,
        "organizationAccounts": state.organization_accounts,
        "members": state.members,
        "calls": state.calls,
        "invitations": state.invitations,
    })
}
